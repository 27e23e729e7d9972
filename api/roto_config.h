// roto_config.h: the SAM 2 architecture parser of the C API (api/roto_api.c),
// shared with the CLI commands that load SAM 2 models themselves (roto track)
// so that every `--config FILE.json` is read by one parser with one set of rules
// and messages (docs/cli.md, "Architecture files").
#ifndef ROTO_API_CONFIG_H
#define ROTO_API_CONFIG_H

#include <jansson.h>

#include "nets/sam2/sam2.h"

#ifdef __cplusplus
extern "C" {
#endif

// A SAM 2 architecture from JSON: the trunk/neck keys of the official yaml at the
// top level of `root` or under "config" (as tools/refgen writes index.json).
// name, image_size (1024) and d_model (256) are optional; unknown keys are
// errors. `what` names the source in messages (a file name).
roto_status roto_config_from_json(json_t *root, const char *what, sam2_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
