# The NIF toolkit's build rules (owned by the NIF toolkit; included by build.mk).
