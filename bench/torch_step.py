"""PyTorch reference for `npm run bench:trial` and `npm run bench:scale`: ms per full-batch GD step of the same
hypernetwork (NTK parametrization, H weight layers in f, L in g (2 unless given), per-sample g as batched matmuls,
MSE, in-place SGD).

usage: python3 bench/torch_step.py [cpu|cuda] [threads]          both bench shapes, one line each
       python3 bench/torch_step.py --json N M BATCH ITERS [DZ] [L]  one shape on cpu, one JSON line (ms, peak RSS)
       python3 bench/torch_step.py --blas                         a 1024² fp32 matmul: GFLOP/s and BLAS config
On CPU with Debian's OpenBLAS, set OPENBLAS_NUM_THREADS=1 for one thread (torch's own thread count is ignored)."""
import json
import math
import resource
import sys
import time

import torch


def step_ms(n, m, batch, device, H=3, dx=16, dz=4, k=1, iters=20, L=2, warmup=2):
    g = torch.Generator(device="cpu").manual_seed(0)
    # g's weight shapes [out, in], layer by layer: m×dz, (L−2) × m×m, k×m
    shapes = [(m, dz)] + [(m, m)] * (L - 2) + [(k, m)]
    ng = sum(o * i for o, i in shapes)
    dims = [dx] + [n] * (H - 1) + [ng]
    ws = [torch.randn(dims[i + 1], dims[i], generator=g).to(device).requires_grad_() for i in range(H)]
    x = torch.nn.functional.normalize(torch.randn(batch, dx, generator=g), dim=1).to(device)
    z = torch.nn.functional.normalize(torch.randn(batch, dz, generator=g), dim=1).to(device)
    y = torch.randn(batch, k, generator=g).to(device)
    opt = torch.optim.SGD(ws, lr=1e-3)

    def step():
        a = x
        for W in ws[:-1]:
            a = math.sqrt(2.0 / n) * torch.relu(a @ W.T)
        o = a @ ws[-1].T
        b = z.unsqueeze(2)
        off = 0
        for j, (out, inp) in enumerate(shapes):
            W = o[:, off : off + out * inp].reshape(batch, out, inp)
            off += out * inp
            b = torch.bmm(W, b)
            if j < len(shapes) - 1:
                b = math.sqrt(2.0 / m) * torch.relu(b)
        h = b.squeeze(2)
        loss = 0.5 * ((h - y) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) * 1000 / iters


def blas_check():
    a = torch.randn(1024, 1024)
    b = torch.randn(1024, 1024)
    for _ in range(3):
        a @ b
    t0 = time.perf_counter()
    reps = 10
    for _ in range(reps):
        a @ b
    ms = (time.perf_counter() - t0) * 1000 / reps
    # Debian's torch is built against the generic BLAS interface: which library serves it shows in the mappings.
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            name = line.rsplit("/", 1)[-1].strip()
            if any(k in name for k in ("blas", "blis", "mkl")):
                libs.add(name)
    return {"gflops": 2 * 1024**3 / ms / 1e6, "blas": ", ".join(sorted(libs)) or "none found", "torch": torch.__version__}


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--blas":
        print(json.dumps(blas_check()))
    elif len(sys.argv) > 1 and sys.argv[1] == "--json":
        n, m, batch, iters = (int(v) for v in sys.argv[2:6])
        dz = int(sys.argv[6]) if len(sys.argv) > 6 else 4
        L = int(sys.argv[7]) if len(sys.argv) > 7 else 2
        ms = step_ms(n, m, batch, "cpu", dz=dz, iters=iters, L=L, warmup=min(2, iters))
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"ms": ms, "rssMb": rss_mb}))
    else:
        device = sys.argv[1] if len(sys.argv) > 1 else "cpu"
        if len(sys.argv) > 2:
            torch.set_num_threads(int(sys.argv[2]))
        for n, m, batch in [(1024, 256, 256), (4096, 1024, 128)]:
            ms = step_ms(n, m, batch, device)
            print(f"torch {device} threads={torch.get_num_threads()} n={n} m={m} batch={batch} H=3 L=2 dz=4: {ms:.2f} ms/step")
