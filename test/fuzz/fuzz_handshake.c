/* libFuzzer target: arbitrary bytes as the peer's side of a handshake.
 * Byte 0: bit 0 the role (0 initiator, 1 acceptor), bits 1-3 the decision
 * taken at EV_PEER_NAME / EV_ALIVE, bits 4-7 the feed chunk size. The
 * configs are those of the recorded real-BEAM handshakes, so the seeds
 * (BEAM's own packets) reach the end. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../cnode/dist/handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  bool acceptor = data[0] & 1;
  otpc__hs_status_t decision = (otpc__hs_status_t)(1 + (data[0] >> 1) % 6);
  size_t chunk = (size_t)(data[0] >> 4) + 1;
  data++;
  size--;
  otpc__hs_config_t cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.flags = 0xD07DF5FBCull;
  cfg.cookie = "OTPCTESTCOOKIE";
  if (acceptor) {
    cfg.role = OTPC__HS_ACCEPTOR;
    cfg.name = "fakeacc@vm";
    cfg.creation = 0x11223344;
    cfg.challenge = 0x01020304;
  } else {
    cfg.role = OTPC__HS_INITIATOR;
    cfg.name = "fakeini@vm";
    cfg.creation = 0x55667788;
    cfg.peer_name = "hsbeam@vm";
    cfg.challenge = 0x0A0B0C0D;
  }
  otpc__hs_t hs;
  otpc_err_t err;
  if (otpc__hs_init(&hs, &cfg, &err) != 0)
    __builtin_trap();
  while (size > 0) {
    size_t n = size < chunk ? size : chunk;
    size_t used;
    int ev = otpc__hs_feed(&hs, data, n, &used, &err);
    if (used > n)
      __builtin_trap();
    data += used;
    size -= used;
    hs.out.len = 0;
    if (ev == OTPC__HS_EV_PEER_NAME || ev == OTPC__HS_EV_ALIVE)
      ev = otpc__hs_decide(&hs, decision, "gen@vm", 5, &err);
    if (ev < 0 || ev == OTPC__HS_EV_DONE || ev == OTPC__HS_EV_REFUSED)
      break;
    if (ev == OTPC__HS_EV_NONE && used == 0) /* no progress: a hang */
      __builtin_trap();
  }
  otpc__hs_free(&hs);
  return 0;
}
