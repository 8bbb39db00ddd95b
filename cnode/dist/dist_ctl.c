/* Distribution control messages, sans IO (see dist_ctl.h). The layout of
 * every operation is one row of a table, read by one decoder and one
 * encoder, so the two cannot drift apart. */
#include "dist_ctl.h"

#include <string.h>

#include "internal.h"

/* Kinds of tuple elements after the operation number. */
enum {
  E_END = 0,
  E_FROM,         /* pid of the sender (checked against the peer node) */
  E_SENDER,       /* pid of the sender, not checked (messages, GL) */
  E_TO,           /* pid */
  E_TO_OR_NAME,   /* pid or atom (monitors) */
  E_FROM_OR_NAME, /* pid or atom (DOWN of a monitor by name) */
  E_TO_NAME,      /* atom (REG_SEND) */
  E_UNUSED,       /* any term; we send '' (the old cookie slot) */
  E_REF,          /* reference */
  E_REASON,       /* any term */
  E_TOKEN,        /* any term */
  E_ID,           /* integer 1..2^64-1 */
  E_GL,           /* pid */
  E_MFA,          /* {atom, atom, 0..255} */
  E_OPTS,         /* proper list */
  E_SPAWN_FLAGS,  /* small integer */
  E_RESULT        /* pid or atom */
};

enum { P_NONE = 0, P_MSG, P_REASON, P_ARGS };

typedef struct {
  const char *name;
  unsigned char payload;
  unsigned char el[7];
} layout_t;

static const layout_t layouts[37] = {
    [1] = {"LINK", P_NONE, {E_FROM, E_TO}},
    [2] = {"SEND", P_MSG, {E_UNUSED, E_TO}},
    [3] = {"EXIT", P_NONE, {E_FROM, E_TO, E_REASON}},
    [4] = {"UNLINK", P_NONE, {E_FROM, E_TO}},
    [6] = {"REG_SEND", P_MSG, {E_SENDER, E_UNUSED, E_TO_NAME}},
    [7] = {"GROUP_LEADER", P_NONE, {E_SENDER, E_TO}},
    [8] = {"EXIT2", P_NONE, {E_FROM, E_TO, E_REASON}},
    [12] = {"SEND_TT", P_MSG, {E_UNUSED, E_TO, E_TOKEN}},
    [13] = {"EXIT_TT", P_NONE, {E_FROM, E_TO, E_TOKEN, E_REASON}},
    [16] = {"REG_SEND_TT", P_MSG, {E_SENDER, E_UNUSED, E_TO_NAME, E_TOKEN}},
    [18] = {"EXIT2_TT", P_NONE, {E_FROM, E_TO, E_TOKEN, E_REASON}},
    [19] = {"MONITOR_P", P_NONE, {E_FROM, E_TO_OR_NAME, E_REF}},
    [20] = {"DEMONITOR_P", P_NONE, {E_FROM, E_TO_OR_NAME, E_REF}},
    [21] = {"MONITOR_P_EXIT", P_NONE, {E_FROM_OR_NAME, E_TO, E_REF, E_REASON}},
    [22] = {"SEND_SENDER", P_MSG, {E_SENDER, E_TO}},
    [23] = {"SEND_SENDER_TT", P_MSG, {E_SENDER, E_TO, E_TOKEN}},
    [24] = {"PAYLOAD_EXIT", P_REASON, {E_FROM, E_TO}},
    [25] = {"PAYLOAD_EXIT_TT", P_REASON, {E_FROM, E_TO, E_TOKEN}},
    [26] = {"PAYLOAD_EXIT2", P_REASON, {E_FROM, E_TO}},
    [27] = {"PAYLOAD_EXIT2_TT", P_REASON, {E_FROM, E_TO, E_TOKEN}},
    [28] = {"PAYLOAD_MONITOR_P_EXIT", P_REASON, {E_FROM_OR_NAME, E_TO, E_REF}},
    [29] = {"SPAWN_REQUEST", P_ARGS, {E_REF, E_FROM, E_GL, E_MFA, E_OPTS}},
    [30] = {"SPAWN_REQUEST_TT",
            P_ARGS,
            {E_REF, E_FROM, E_GL, E_MFA, E_OPTS, E_TOKEN}},
    [31] = {"SPAWN_REPLY", P_NONE, {E_REF, E_TO, E_SPAWN_FLAGS, E_RESULT}},
    [32] = {"SPAWN_REPLY_TT",
            P_NONE,
            {E_REF, E_TO, E_SPAWN_FLAGS, E_RESULT, E_TOKEN}},
    [33] = {"ALIAS_SEND", P_MSG, {E_SENDER, E_REF}},
    [34] = {"ALIAS_SEND_TT", P_MSG, {E_SENDER, E_REF, E_TOKEN}},
    [35] = {"UNLINK_ID", P_NONE, {E_ID, E_FROM, E_TO}},
    [36] = {"UNLINK_ID_ACK", P_NONE, {E_ID, E_FROM, E_TO}},
};

static const layout_t *layout(int op) {
  if (op < 1 || op > 36 || layouts[op].name == NULL)
    return NULL;
  return &layouts[op];
}

const char *otpc__dop_name(int op) {
  const layout_t *l = layout(op);
  return l ? l->name : NULL;
}

bool otpc__dop_has_payload(int op) {
  const layout_t *l = layout(op);
  return l != NULL && l->payload != P_NONE;
}

static size_t arity_of(const layout_t *l) {
  size_t n = 1;
  while (n - 1 < sizeof l->el && l->el[n - 1] != E_END)
    n++;
  return n;
}

/* ------------------------------------------------------------ decoding */

static int bad(otpc_err_t *err, const layout_t *l, size_t i, const char *what,
               otpc_term_t got) {
  char text[64];
  int n = otpc_term_snprint(text, sizeof text, got);
  if (n < 0)
    strcpy(text, "?");
  else if ((size_t)n >= sizeof text)
    strcpy(text + sizeof text - 4, "...");
  return otpc__err(err, OTPC_EBADTERM, 0,
                   "invalid %s: element %zu must be %s, got %s", l->name, i + 1,
                   what, text);
}

static bool proper_list(otpc_term_t t) {
  otpc_iter_t it;
  size_t n;
  if (otpc_term_list(t, &it, &n) != 0)
    return false;
  otpc_term_t e, tail;
  while (otpc_iter_next(&it, &e) == 1)
    ;
  return otpc_iter_tail(&it, &tail) == 0 && otpc_term_type(tail) == OTPC_T_NIL;
}

static int from_pid(otpc_term_t e, otpc_atom_t peer, const layout_t *l,
                    size_t i, otpc_pid_t *pid, otpc_err_t *err) {
  if (otpc_term_pid(e, pid) != 0)
    return bad(err, l, i, "a pid", e);
  if (peer != OTPC_ATOM_NONE && pid->node != peer)
    return bad(err, l, i, "a pid of the sending node", e);
  return 0;
}

static int element(otpc_term_t e, int kind, otpc_atom_t peer, const layout_t *l,
                   size_t i, otpc__dctl_t *c, otpc_err_t *err) {
  switch (kind) {
  case E_FROM: return from_pid(e, peer, l, i, &c->from, err);
  case E_SENDER:
    return otpc_term_pid(e, &c->from) == 0 ? 0 : bad(err, l, i, "a pid", e);
  case E_TO:
    return otpc_term_pid(e, &c->to) == 0 ? 0 : bad(err, l, i, "a pid", e);
  case E_GL:
    return otpc_term_pid(e, &c->gl) == 0 ? 0 : bad(err, l, i, "a pid", e);
  case E_TO_OR_NAME:
    if (otpc_term_type(e) == OTPC_T_ATOM)
      return otpc_term_atom(e, &c->to_name) == 0
                 ? 0
                 : bad(err, l, i, "a pid or an atom", e);
    return otpc_term_pid(e, &c->to) == 0
               ? 0
               : bad(err, l, i, "a pid or an atom", e);
  case E_FROM_OR_NAME:
    if (otpc_term_type(e) == OTPC_T_ATOM)
      return otpc_term_atom(e, &c->from_name) == 0
                 ? 0
                 : bad(err, l, i, "a pid or an atom", e);
    return from_pid(e, peer, l, i, &c->from, err) == 0
               ? 0
               : bad(err, l, i, "a pid of the sending node or an atom", e);
  case E_TO_NAME:
    return otpc_term_atom(e, &c->to_name) == 0 ? 0
                                               : bad(err, l, i, "an atom", e);
  case E_UNUSED: return 0;
  case E_REF:
    return otpc_term_ref(e, &c->ref) == 0 ? 0
                                          : bad(err, l, i, "a reference", e);
  case E_REASON: c->reason = e; return 0;
  case E_TOKEN: c->token = e; return 0;
  case E_ID:
    if (otpc_term_uint64(e, &c->id) != 0 || c->id == 0)
      return bad(err, l, i, "an integer from 1 to 2^64-1", e);
    return 0;
  case E_MFA: {
    otpc_iter_t it;
    size_t n;
    otpc_term_t m, f, a;
    int64_t ar;
    if (otpc_term_tuple(e, &it, &n) != 0 || n != 3)
      return bad(err, l, i, "{Module, Function, Arity}", e);
    otpc_iter_next(&it, &m);
    otpc_iter_next(&it, &f);
    otpc_iter_next(&it, &a);
    if (otpc_term_atom(m, &c->mod) != 0 || otpc_term_atom(f, &c->fun) != 0 ||
        otpc_term_int64(a, &ar) != 0 || ar < 0 || ar > 255)
      return bad(err, l, i, "{atom, atom, 0..255}", e);
    c->arity = (unsigned)ar;
    return 0;
  }
  case E_OPTS:
    if (!proper_list(e))
      return bad(err, l, i, "a proper list of options", e);
    c->opts = e;
    return 0;
  case E_SPAWN_FLAGS: {
    int64_t v;
    if (otpc_term_int64(e, &v) != 0 || v < 0 || v > 3)
      return bad(err, l, i, "spawn reply flags 0..3", e);
    c->spawn_flags = (unsigned)v;
    return 0;
  }
  case E_RESULT:
    if (otpc_term_type(e) == OTPC_T_ATOM) {
      c->result_is_pid = false;
      return otpc_term_atom(e, &c->result_atom) == 0
                 ? 0
                 : bad(err, l, i, "a pid or an atom", e);
    }
    c->result_is_pid = true;
    return otpc_term_pid(e, &c->result_pid) == 0
               ? 0
               : bad(err, l, i, "a pid or an atom", e);
  }
  return otpc__err(err, OTPC_EINVAL, 0, "bad layout");
}

int otpc__dctl_decode(otpc_term_t ctl, otpc_term_t payload,
                      otpc_atom_t peer_node, otpc__dctl_t *out,
                      otpc_err_t *err) {
  if (out == NULL || ctl.p == NULL)
    return OTPC_EINVAL;
  memset(out, 0, sizeof *out);
  otpc_iter_t it;
  size_t n;
  otpc_term_t e;
  int64_t op;
  if (otpc_term_tuple(ctl, &it, &n) != 0 || n < 1 ||
      otpc_iter_next(&it, &e) != 1 || otpc_term_int64(e, &op) != 0)
    return otpc__err(err, OTPC_EBADTERM, 0,
                     "invalid distribution message: the control term is not "
                     "a tuple starting with an operation number");
  const layout_t *l = layout((int)(op < 0 || op > 36 ? 0 : op));
  if (l == NULL)
    return otpc__err(err, OTPC_ENOTSUP, 0,
                     "unknown distribution operation %lld", (long long)op);
  size_t want = arity_of(l);
  if (n != want)
    return otpc__err(err, OTPC_EBADTERM, 0,
                     "invalid %s: a tuple of %zu elements, expected %zu",
                     l->name, n, want);
  out->op = (otpc__dop_t)op;
  for (size_t i = 1; i < n; i++) {
    otpc_iter_next(&it, &e);
    int rc = element(e, l->el[i - 1], peer_node, l, i, out, err);
    if (rc != 0)
      return rc;
  }
  bool has = payload.p != NULL;
  if (has != (l->payload != P_NONE))
    return otpc__err(err, OTPC_EBADTERM, 0, "invalid %s: %s", l->name,
                     has ? "a payload where none belongs"
                         : "the payload is missing");
  out->payload = payload;
  if (l->payload == P_REASON)
    out->reason = payload;
  if (l->payload == P_ARGS && !proper_list(payload))
    return otpc__err(err, OTPC_EBADTERM, 0,
                     "invalid %s: the argument list is not a proper list",
                     l->name);
  return 0;
}

/* ------------------------------------------------------------ encoding */

static int put_pid_or_atom(otpc_buf_t *out, otpc_err_t *err, otpc_atom_t a,
                           const otpc_pid_t *p) {
  if (a != OTPC_ATOM_NONE)
    return otpc_term_build(out, err, "~A", a);
  return otpc_term_build(out, err, "~p", p);
}

static int need_term(const otpc_term_t *t, const layout_t *l, const char *what,
                     otpc_err_t *err) {
  if (t->p == NULL)
    return otpc__err(err, OTPC_EINVAL, 0, "%s needs a %s term", l->name, what);
  return 0;
}

int otpc__dctl_encode(otpc_buf_t *out, const otpc__dctl_t *c, otpc_err_t *err) {
  if (out == NULL || c == NULL)
    return OTPC_EINVAL;
  const layout_t *l = layout((int)c->op);
  if (l == NULL)
    return otpc__err(err, OTPC_EINVAL, 0, "unknown operation %d", (int)c->op);
  size_t start = out->len;
  uint8_t hdr[3] = {OTPC_TAG_SMALL_TUPLE, (uint8_t)arity_of(l), (uint8_t)c->op};
  int rc = otpc_buf_append(out, hdr, 2);
  if (rc == 0)
    rc = otpc_term_build(out, err, "~i", (int)c->op);
  for (size_t i = 0; rc == 0 && i < sizeof l->el && l->el[i] != E_END; i++) {
    switch (l->el[i]) {
    case E_FROM:
    case E_SENDER: rc = otpc_term_build(out, err, "~p", &c->from); break;
    case E_TO: rc = otpc_term_build(out, err, "~p", &c->to); break;
    case E_GL: rc = otpc_term_build(out, err, "~p", &c->gl); break;
    case E_TO_OR_NAME:
      rc = put_pid_or_atom(out, err, c->to_name, &c->to);
      break;
    case E_FROM_OR_NAME:
      rc = put_pid_or_atom(out, err, c->from_name, &c->from);
      break;
    case E_TO_NAME:
      rc = c->to_name == OTPC_ATOM_NONE
               ? otpc__err(err, OTPC_EINVAL, 0, "%s needs to_name", l->name)
               : otpc_term_build(out, err, "~A", c->to_name);
      break;
    case E_UNUSED: rc = otpc_term_build(out, err, "''"); break;
    case E_REF: rc = otpc_term_build(out, err, "~r", &c->ref); break;
    case E_REASON:
      rc = need_term(&c->reason, l, "reason", err);
      if (rc == 0)
        rc = otpc_buf_append(out, c->reason.p, c->reason.len);
      break;
    case E_TOKEN:
      rc = need_term(&c->token, l, "token", err);
      if (rc == 0)
        rc = otpc_buf_append(out, c->token.p, c->token.len);
      break;
    case E_ID:
      rc = c->id == 0
               ? otpc__err(err, OTPC_EINVAL, 0, "%s needs an id > 0", l->name)
               : otpc_term_build(out, err, "~U", c->id);
      break;
    case E_MFA:
      rc = c->arity > 255 ? otpc__err(err, OTPC_EINVAL, 0, "arity over 255")
                          : otpc_term_build(out, err, "{~A, ~A, ~i}", c->mod,
                                            c->fun, (int)c->arity);
      break;
    case E_OPTS:
      rc = c->opts.p == NULL ? otpc_term_build(out, err, "[]")
                             : otpc_buf_append(out, c->opts.p, c->opts.len);
      break;
    case E_SPAWN_FLAGS:
      rc = otpc_term_build(out, err, "~i", (int)c->spawn_flags);
      break;
    case E_RESULT:
      rc = c->result_is_pid ? otpc_term_build(out, err, "~p", &c->result_pid)
                            : otpc_term_build(out, err, "~A", c->result_atom);
      break;
    }
  }
  if (rc != 0)
    out->len = start;
  return rc;
}
