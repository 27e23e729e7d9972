// gpu_test_main.h: the main() of a GPU test program (tests/gpu/test_*.c).
// Without a CUDA device it prints one visible SKIP line and exits 0 (CI has
// no GPU); ROTO_GPU_TESTS=name,name runs only those tests (the same variable
// filters every GPU program, so a name another program owns skips here).
// Check does not fork: the device probe initialised CUDA, which a forked
// child cannot use.
#ifndef ROTO_TESTS_GPU_TEST_MAIN_H
#define ROTO_TESTS_GPU_TEST_MAIN_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime.h>

// Whether `name` is one of the comma-separated names in `list`.
static inline int gpu_test_listed(const char *list, const char *name) {
    size_t len = strlen(name);
    for (const char *hit = strstr(list, name); hit; hit = strstr(hit + 1, name))
        if ((hit == list || hit[-1] == ',') && (hit[len] == '\0' || hit[len] == ',')) return 1;
    return 0;
}

// what: e.g. "GPU matte tests", for the SKIP lines.
static inline int gpu_test_main(const char *suite, const char *what, const TTest *const *tests, int n_tests,
                                void (*setup)(void), void (*teardown)(void)) {
    int n_dev = 0;
    cudaError_t e = cudaGetDeviceCount(&n_dev);
    if (e != cudaSuccess || n_dev == 0) {
        printf("SKIP: no CUDA device (cudaGetDeviceCount: %s); %d %s not run\n",
               e != cudaSuccess ? cudaGetErrorString(e) : "0 devices", n_tests, what);
        return 0;
    }
    const char *only = getenv("ROTO_GPU_TESTS");
    int added = 0;
    for (int i = 0; i < n_tests; i++) added += !(only && only[0]) || gpu_test_listed(only, tests[i]->name);
    if (!added) {
        printf("SKIP: ROTO_GPU_TESTS names none of the %d %s\n", n_tests, what);
        return 0;
    }
    Suite *s = suite_create(suite);
    TCase *tc = tcase_create("cuda");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    for (int i = 0; i < n_tests; i++)
        if (!(only && only[0]) || gpu_test_listed(only, tests[i]->name)) tcase_add_test(tc, tests[i]);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

#endif
