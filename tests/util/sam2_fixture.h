// sam2_fixture.h: reading the model configuration that the SAM 2.1 reference
// dumps (tests/fixtures/sam2*/<size>/index.json, tools/refgen) record, for the
// tests that build nets/sam2 directly.
#ifndef ROTO_SAM2_FIXTURE_H
#define ROTO_SAM2_FIXTURE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "nets/sam2/sam2.h"

// Up to max integers of a JSON array into dst; *n (if given) how many were read.
void sam2_fixture_ints(json_t *a, int *dst, int max, int *n);

// Fills cfg (zeroed first) from the "config" object of a dump's index.json.
void sam2_fixture_config(json_t *config, sam2_config *cfg);

// Intersection over union of two masks of n pixels (nonzero = inside); 1 when
// both are empty.
double sam2_fixture_mask_iou(const uint8_t *a, const uint8_t *b, size_t n);

#endif
