"""Vectorised numpy float64 reference for `npm run bench:kernels`: the exact hyperkernel Gram
Θ_h = Θ_f ⊙ K_g (docs/kernels.md), computed the idiomatic numpy way (whole-array ops, f-kernels once per distinct x
via np.unique, row blocks to bound memory), then the Cholesky factorisation of kernel regression on it. Reads the
problem written by bench/kernels.ts, prints one JSON line.

usage: python3 kernels_numpy.py META.json
"""
import json
import sys
import time

import numpy as np


def relu_dual(s, va, vb):
    """κ1, κ0 of an nngp block s with row variances va and column variances vb (ρ clipped to [−1, 1])."""
    sab = np.sqrt(np.outer(va, vb))
    rho = np.clip(s / sab, -1.0, 1.0)
    # same snap as worker/kernels/dual.ts (CORR_SNAP): |ρ| within 1e−13 of 1 counts as ±1
    np.copyto(rho, 1.0, where=rho > 1.0 - 1e-13)
    np.copyto(rho, -1.0, where=rho < -1.0 + 1e-13)
    theta = np.arccos(rho)
    k0 = (np.pi - theta) / np.pi
    k1 = sab * (np.sqrt(1.0 - rho * rho) + (np.pi - theta) * rho) / np.pi
    return k1, k0


def hyperkernel(x, z, H, L, gamma, block=512):
    xu, inv = np.unique(x, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    xu = xu / np.linalg.norm(xu, axis=1, keepdims=True)
    # f on distinct x: Σ_f, Θ_f
    s = xu @ xu.T
    var = np.einsum('ij,ij->i', xu, xu)
    t = s.copy()
    for _ in range(H - 1):
        k1, k0 = relu_dual(s, var, var)
        t = t * k0 + k1
        s = k1
    sig_f, th_f, var_f = s, t, var  # κ1 keeps the diagonal
    n = x.shape[0]
    out = np.empty((n, n))
    zz = np.einsum('ij,ij->i', z, z)
    for r0 in range(0, n, block):
        r1 = min(n, r0 + block)
        sf = sig_f[inv[r0:r1]][:, inv]
        tf = th_f[inv[r0:r1]][:, inv]
        kz = np.exp(-gamma * np.maximum(zz[r0:r1, None] + zz[None, :] - 2.0 * (z[r0:r1] @ z.T), 0.0))
        va = var_f[inv[r0:r1]]
        vb = var_f[inv]
        # first produced dense layer: S¹ = Σ_f ⊙ K_z, K¹ = K_z (unit input variances: K_z(z, z) = 1)
        sg = sf * kz
        kg = kz
        ga, gb = va.copy(), vb.copy()
        for _ in range(L - 1):
            k1, k0 = relu_dual(sg, ga, gb)
            kg = k1 + sf * (kg * k0)
            sg = sf * k1
            ga, gb = ga * va, gb * vb
        out[r0:r1] = tf * kg
    return out


def main():
    meta = json.load(open(sys.argv[1]))
    x = np.fromfile(meta['x'], dtype='<f8').reshape(meta['n'], meta['dx'])
    z = np.fromfile(meta['z'], dtype='<f8').reshape(meta['n'], meta['dz'])
    best = float('inf')
    for _ in range(meta['repeats']):
        t0 = time.perf_counter()
        k = hyperkernel(x, z, meta['H'], meta['L'], meta['gamma'])
        best = min(best, time.perf_counter() - t0)
    rows = np.array(meta['sampleRows'], dtype=np.int64)
    k[rows].astype('<f8').tofile(meta['sampleOut'])
    # the regression's factorisation: K + ε·diag K (LAPACK dpotrf through np.linalg.cholesky), in place of k
    k[np.diag_indices_from(k)] *= 1.0 + meta['jitter']
    t0 = time.perf_counter()
    np.linalg.cholesky(k)
    chol = time.perf_counter() - t0
    print(json.dumps({'seconds': best, 'numpy': np.__version__, 'cholSeconds': chol}))


if __name__ == '__main__':
    main()
