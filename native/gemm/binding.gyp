{
  "targets": [
    {
      "target_name": "tfleet_gemm_avx2",
      "type": "static_library",
      "sources": ["src/gemm_avx2.c"],
      "cflags": ["-O3", "-mavx2", "-mfma", "-fPIC", "-std=gnu11"],
      "cflags!": ["-O2", "-O0"]
    },
    {
      "target_name": "tfleet_gemm",
      "sources": ["src/addon.c"],
      "dependencies": ["tfleet_gemm_avx2"],
      "cflags": ["-O2", "-std=gnu11"]
    }
  ]
}
