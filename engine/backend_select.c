// backend_select.c: which backends this build contains.
#include "backend.h"

#ifdef ROTO_HAVE_CUDA
const rt_backend *rt_cuda_backend_impl(void);  // kernels/cuda/cuda_backend.c
const rt_backend *rt_cuda_backend(void) { return rt_cuda_backend_impl(); }
#else
const rt_backend *rt_cuda_backend(void) { return NULL; }
#endif
