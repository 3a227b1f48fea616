/* sgemm_shapes.c -- OpenBLAS sgemm (one thread) on the GEMMs of DRIFA-Net's convolutions,
** to compare with lunac's kernels (docs/results.md): gcc -O2 bench/sgemm_shapes.c -o /tmp/sg -lopenblas
** && OPENBLAS_NUM_THREADS=1 /tmp/sg */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
/* C[M,N] = A[M,K] B[K,N], row-major, as lunac's conv2d GEMM (w . im2col) */
static void run(int M,int N,int K){
  float *a=malloc(4L*M*K),*b=malloc(4L*K*N),*c=malloc(4L*M*N);
  for(long i=0;i<(long)M*K;i++)a[i]=(float)(i%7)*0.1f;
  for(long i=0;i<(long)K*N;i++)b[i]=(float)(i%5)*0.1f;
  int reps=(int)(2e9/(2.0*M*N*K))+1;
  cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasNoTrans,M,N,K,1,a,K,b,N,0,c,N);
  double best=1e9;
  for(int r=0;r<5;r++){double t=now();for(int i=0;i<reps;i++)cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasNoTrans,M,N,K,1,a,K,b,N,0,c,N);t=(now()-t)/reps;if(t<best)best=t;}
  printf("M=%d N=%d K=%d: %.1f GFLOP/s\n",M,N,K,2.0*M*N*K/best/1e9);
  free(a);free(b);free(c);
}
int main(void){
  run(64,1024,576);   /* conv 64->64 3x3 at 32x32, one sample */
  run(128,256,1152);  /* 128 ch at 16x16 */
  run(256,64,2304);   /* 256 ch at 8x8 */
  run(512,16,4608);   /* 512 ch at 4x4 */
  run(64,4096,147);   /* the stem, 7x7x3 at 64x64 */
  return 0;
}
