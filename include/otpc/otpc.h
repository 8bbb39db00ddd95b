/* otpc: OTP for C. Includes the whole public API except otpc/nif.h, which
 * needs erl_nif.h and is only for NIF libraries. */
#ifndef OTPC_OTPC_H
#define OTPC_OTPC_H

#include "otpc/application.h"
#include "otpc/atom.h"
#include "otpc/buf.h"
#include "otpc/error.h"
#include "otpc/frame.h"
#include "otpc/gen_event.h"
#include "otpc/gen_server.h"
#include "otpc/gen_statem.h"
#include "otpc/global.h"
#include "otpc/msg.h"
#include "otpc/node.h"
#include "otpc/pg.h"
#include "otpc/port.h"
#include "otpc/process.h"
#include "otpc/rpc.h"
#include "otpc/supervisor.h"
#include "otpc/term.h"

#endif
