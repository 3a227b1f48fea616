/* fma_peak.c -- this machine's fp32 FMA peak per core: 12 independent AVX2 FMA chains.
** gcc -O2 -mavx2 -mfma bench/fma_peak.c -o /tmp/fma_peak && /tmp/fma_peak (docs/results.md) */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>
int main(void){
  __m256 a[12]; __m256 x=_mm256_set1_ps(1.0000001f), y=_mm256_set1_ps(0.9999999f);
  for(int i=0;i<12;i++) a[i]=_mm256_set1_ps((float)i);
  struct timespec t0,t1; clock_gettime(CLOCK_MONOTONIC,&t0);
  long n=200000000;
  for(long k=0;k<n;k++){
    #pragma GCC unroll 12
    for(int i=0;i<12;i++) a[i]=_mm256_fmadd_ps(a[i],x,y);
  }
  clock_gettime(CLOCK_MONOTONIC,&t1);
  double s=(t1.tv_sec-t0.tv_sec)+(t1.tv_nsec-t0.tv_nsec)*1e-9;
  float r=0; for(int i=0;i<12;i++) r+=a[i][0];
  printf("%.1f GFLOP/s (%g)\n", n*12*16/s/1e9, r);
}
