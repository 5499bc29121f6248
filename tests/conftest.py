"""Test-suite settings.

The suite fits thousands of small models; multi-threaded BLAS on them only
adds thread start-up and busy-waiting (10-100x slower on a loaded 2-core
machine), so BLAS runs on one thread here and in the example subprocesses.
The library itself leaves BLAS threading to the user (threadpoolctl).
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

from threadpoolctl import threadpool_limits  # noqa: E402

_BLAS_LIMIT = threadpool_limits(limits=1, user_api="blas")
