// ops_ccl.c: validation and dispatch for rt_connected_components (ops.h).
#include "ops_common.h"

roto_status rt_connected_components(rt_ctx *ctx, rt_tensor *labels, rt_tensor *areas,
                                    const rt_tensor *mask, int *n_out) {
    ROTO_TRY(rt_check(ctx, mask, "connected_components: mask", 2, RT_U8));
    ROTO_TRY(rt_check_last_contiguous(mask, "connected_components: mask"));
    ROTO_TRY(rt_check(ctx, labels, "connected_components: labels", 2, RT_I32));
    ROTO_TRY(rt_check_contiguous(labels, "connected_components: labels"));
    ROTO_TRY(rt_check_same_shape(labels, mask, "connected_components: labels vs mask"));
    ROTO_TRY(rt_check_no_alias(labels, mask, "connected_components: labels vs mask"));
    // Labels double as union-find parent indices, so H*W must fit in an int32.
    if (rt_numel(mask) >= INT32_MAX)
        return roto_fail(ROTO_ERR_UNSUPPORTED, "connected_components: mask of %lld pixels is too large",
                         (long long)rt_numel(mask));
    if (areas) {
        ROTO_TRY(rt_check(ctx, areas, "connected_components: areas", 2, RT_I32));
        ROTO_TRY(rt_check_contiguous(areas, "connected_components: areas"));
        ROTO_TRY(rt_check_same_shape(areas, mask, "connected_components: areas vs mask"));
        ROTO_TRY(rt_check_no_alias(areas, mask, "connected_components: areas vs mask"));
        ROTO_TRY(rt_check_no_alias(areas, labels, "connected_components: areas vs labels"));
    }
    RT_DISPATCH(ctx, connected_components, "connected_components", labels, areas, mask, n_out);
}
