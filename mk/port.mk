# The port toolkit's build rules (owned by the port toolkit; included by build.mk).
