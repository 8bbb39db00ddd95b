/* Loading, upgrading and unloading a NIF library, and its resources.
 *
 * Every spec is parsed once, at load, so a typo in a spec makes the load
 * fail with a message naming the function and the offset, instead of a
 * crash at the first call. On upgrade the resource types are opened with
 * ERL_NIF_RT_TAKEOVER: resources made by the old library keep working and
 * get the new library's destructor and down callback. */
#include <stdio.h>
#include <string.h>

#include "nif_int.h"

static void say(const char *module, const char *fmt, const char *a,
                const char *b) {
  /* The VM only reports "load_failed"; the reason goes to stderr, where a
   * developer loading the library sees it. */
  enif_fprintf(stderr, "otpc_nif: %s: ", module);
  enif_fprintf(stderr, fmt, a, b);
  enif_fprintf(stderr, "\n");
}

static int find_restype(const otpc_nif_module_t *mod, const char *name,
                        size_t len) {
  for (unsigned k = 0; mod && k < mod->nrestypes; k++)
    if (strlen(mod->restypes[k].name) == len &&
        memcmp(mod->restypes[k].name, name, len) == 0)
      return (int)k;
  return -1;
}

/* Names of a spec to atoms; res(NAME) to resource type indexes. */
static int resolve(ErlNifEnv *env, const char *module, const otpc_nif__fn_t *fn,
                   const otpc_nif__spec_t *sp, ERL_NIF_TERM *atoms, int8_t *rt,
                   const otpc_nif_module_t *mod) {
  for (unsigned k = 0; k < sp->nnames; k++) {
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)sp->names[k].len,
             sp->text + sp->names[k].off);
    atoms[k] = enif_make_atom(env, name);
  }
  for (unsigned k = 0; k < sp->nnodes; k++) {
    rt[k] = -1;
    if (sp->nodes[k].type != OTPC_NIF__T_RES)
      continue;
    const otpc_nif__name_t *nm = &sp->names[sp->nodes[k].name];
    int r = find_restype(mod, sp->text + nm->off, nm->len);
    if (r < 0) {
      char name[256];
      snprintf(name, sizeof name, "%.*s", (int)nm->len, sp->text + nm->off);
      say(module, "%s: res(%s): no such resource type in the module table",
          fn->decl->name, name);
      return OTPC_ENOTFOUND;
    }
    rt[k] = (int8_t)r;
  }
  return 0;
}

static void free_lib(otpc_nif__lib_t *lib) {
  if (!lib)
    return;
  enif_free(lib->fns);
  enif_free(lib->restypes);
  enif_free(lib);
}

/* Builds a library instance; flags: ERL_NIF_RT_CREATE on load, with
 * ERL_NIF_RT_TAKEOVER on upgrade. */
static otpc_nif__lib_t *make_lib(ErlNifEnv *env, const char *module,
                                 const otpc_nif_decl_t *decls, unsigned ndecls,
                                 const otpc_nif_module_t *mod, int flags) {
  otpc_nif__lib_t *lib = enif_alloc(sizeof *lib);
  if (!lib)
    return NULL;
  memset(lib, 0, sizeof *lib);
  snprintf(lib->module, sizeof lib->module, "%s", module);
  lib->mod = mod;
  lib->nfns = ndecls;
  lib->fns = enif_alloc((ndecls + 1) * sizeof *lib->fns);
  unsigned nrt = mod ? mod->nrestypes : 0;
  lib->restypes = enif_alloc((nrt + 1) * sizeof *lib->restypes);
  if (!lib->fns || !lib->restypes || nrt > 100) {
    free_lib(lib);
    return NULL;
  }
  static const struct {
    size_t off;
    const char *name;
  } atoms[] = {
      {offsetof(otpc_nif__lib_t, a_true), "true"},
      {offsetof(otpc_nif__lib_t, a_false), "false"},
      {offsetof(otpc_nif__lib_t, a_ok), "ok"},
      {offsetof(otpc_nif__lib_t, a_error), "error"},
      {offsetof(otpc_nif__lib_t, a_badarg), "badarg"},
      {offsetof(otpc_nif__lib_t, a_busy), "busy"},
      {offsetof(otpc_nif__lib_t, a_otpc_nif), "otpc_nif"},
      {offsetof(otpc_nif__lib_t, a_argument), "argument"},
      {offsetof(otpc_nif__lib_t, a_expected), "expected"},
      {offsetof(otpc_nif__lib_t, a_received), "received"},
      {offsetof(otpc_nif__lib_t, a_path), "path"},
      {offsetof(otpc_nif__lib_t, a_message), "message"},
      {offsetof(otpc_nif__lib_t, a_element), "element"},
      {offsetof(otpc_nif__lib_t, a_item), "item"},
      {offsetof(otpc_nif__lib_t, a_key), "key"},
      {offsetof(otpc_nif__lib_t, a_function), "function"},
  };
  for (size_t k = 0; k < sizeof atoms / sizeof atoms[0]; k++)
    *(ERL_NIF_TERM *)((char *)lib + atoms[k].off) =
        enif_make_atom(env, atoms[k].name);
  for (unsigned i = 0; i < ndecls; i++) {
    otpc_nif__fn_t *fn = &lib->fns[i];
    otpc_err_t err;
    fn->decl = &decls[i];
    if (otpc_nif__spec_parse(decls[i].args, &fn->args, &err) < 0) {
      say(module, "%s: argument spec: %s", decls[i].name, err.msg);
      goto fail;
    }
    if (fn->args.nroots != decls[i].arity) {
      say(module, "%s: the argument spec \"%s\" does not match the arity",
          decls[i].name, decls[i].args);
      goto fail;
    }
    if (otpc_nif__spec_parse(decls[i].result, &fn->result, &err) < 0 ||
        fn->result.nroots > 1) {
      say(module, "%s: result spec: %s", decls[i].name,
          fn->result.nroots > 1 ? "expected one type" : err.msg);
      goto fail;
    }
    if (resolve(env, module, fn, &fn->args, fn->arg_atoms, fn->arg_rt, mod) <
            0 ||
        resolve(env, module, fn, &fn->result, fn->res_atoms, fn->res_rt, mod) <
            0)
      goto fail;
    if (decls[i].sched == OTPC_NIF_POOL && (!mod || mod->pool_threads == 0)) {
      say(module, "%s: %s", decls[i].name,
          "scheduled on the pool but the module has pool_threads = 0");
      goto fail;
    }
  }
  for (unsigned k = 0; k < nrt; k++) {
    const otpc_nif_restype_t *r = &mod->restypes[k];
    ErlNifResourceTypeInit init = {.dtor = r->dtor, .down = r->down};
    ErlNifResourceFlags tried;
    lib->restypes[k] = enif_open_resource_type_x(
        env, r->name, &init, (ErlNifResourceFlags)flags, &tried);
    if (!lib->restypes[k]) {
      say(module, "resource type %s: %s", r->name,
          "cannot be opened (a duplicate name?)");
      goto fail;
    }
  }
  if (otpc_nif__yield_init(env, lib, flags) < 0 ||
      otpc_nif__pool_init(env, lib, flags) < 0) {
    say(module, "%s%s", "cannot start the yield state type or the pool", "");
    goto fail;
  }
  return lib;
fail:
  free_lib(lib);
  return NULL;
}

int otpc_nif__load(ErlNifEnv *env, void **priv, ERL_NIF_TERM info,
                   const char *module, const otpc_nif_decl_t *decls,
                   unsigned ndecls, const otpc_nif_module_t *mod) {
  otpc_nif__lib_t *lib =
      make_lib(env, module, decls, ndecls, mod, ERL_NIF_RT_CREATE);
  if (!lib)
    return 1;
  if (mod && mod->on_load && mod->on_load(env, &lib->user, NULL, info) < 0) {
    say(module, "%s%s", "the module's on_load hook failed", "");
    otpc_nif__pool_stop(lib);
    free_lib(lib);
    return 2;
  }
  *priv = lib;
  return 0;
}

int otpc_nif__upgrade(ErlNifEnv *env, void **priv, void **old_priv,
                      ERL_NIF_TERM info, const char *module,
                      const otpc_nif_decl_t *decls, unsigned ndecls,
                      const otpc_nif_module_t *mod) {
  otpc_nif__lib_t *old = *old_priv;
  otpc_nif__lib_t *lib = make_lib(env, module, decls, ndecls, mod,
                                  ERL_NIF_RT_CREATE | ERL_NIF_RT_TAKEOVER);
  if (!lib)
    return 1;
  if (mod && mod->on_load &&
      mod->on_load(env, &lib->user, old ? old->user : NULL, info) < 0) {
    say(module, "%s%s", "the module's on_load hook failed on upgrade", "");
    otpc_nif__pool_stop(lib);
    free_lib(lib);
    return 2;
  }
  *priv = lib;
  return 0;
}

void otpc_nif__unload(ErlNifEnv *env, void *priv) {
  otpc_nif__lib_t *lib = priv;
  if (!lib)
    return;
  /* The pool's threads run this library's code: they must be gone before
   * the code is. */
  otpc_nif__pool_stop(lib);
  if (lib->mod && lib->mod->on_unload)
    lib->mod->on_unload(env, lib->user);
  free_lib(lib);
}

/* Resources -------------------------------------------------------------- */

void *otpc_nif_res_new(otpc_nif_call_t *c, unsigned type, size_t size) {
  if (!c->lib->mod || type >= c->lib->mod->nrestypes)
    return NULL;
  void *obj = enif_alloc_resource(c->lib->restypes[type], size);
  if (obj)
    memset(obj, 0, size);
  return obj;
}

int otpc_nif_res_monitor(otpc_nif_call_t *c, void *obj, const ErlNifPid *pid) {
  int rc = enif_monitor_process(c->job ? NULL : c->env, obj, pid, NULL);
  if (rc < 0)
    return OTPC_ENOTSUP;
  return rc > 0 ? OTPC_EINVAL : 0;
}

ERL_NIF_TERM otpc_nif_res_binary(otpc_nif_call_t *c, void *obj,
                                 const void *data, size_t size) {
  return enif_make_resource_binary(c->env, obj, data, size);
}
