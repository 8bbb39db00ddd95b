/* otpc: OTP for C. Includes the whole public API. */
#ifndef OTPC_OTPC_H
#define OTPC_OTPC_H

#include "otpc/atom.h"
#include "otpc/buf.h"
#include "otpc/error.h"
#include "otpc/frame.h"
#include "otpc/gen_event.h"
#include "otpc/gen_server.h"
#include "otpc/gen_statem.h"
#include "otpc/msg.h"
#include "otpc/port.h"
#include "otpc/process.h"
#include "otpc/term.h"

#endif
