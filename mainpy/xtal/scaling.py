"""Bulk-solvent and overall scaling: Fmodel = k_iso * k_aniso * (Fcalc + k_mask * Fmask).

Follows Afonine et al. (2013) Acta Cryst. D69, 625 ("bulk-solvent and overall scaling
revisited"), as in cctbx's mmtbx.bulk_solvent.scaler: in logarithmic resolution bins
(Urzhumtsev et al. 2009) k_mask is chosen per bin to minimize the bin's R with its own
isotropic scale, the bin values are smoothed and interpolated, the isotropic scale is an
exponential k*exp(-B s^2/4) times a per-bin factor, and the anisotropic scale
exp(-2 pi^2 h^T U* h) has U* constrained by the lattice (point-group) symmetry. Every
parameter is fitted on the work set only; a step is kept only if it lowers R-work.
"""

from __future__ import annotations

from dataclasses import dataclass

import gemmi
import numpy as np

from mainpy.xtal.rfactors import r_factor


# ----------------------------------------------------------------------------- bins

def log_bins(d: np.ndarray, n_lowest: int = 100, max_bins: int = 30,
             min_per_bin: int = 50) -> np.ndarray:
    """Bin index of each reflection, bins equally spaced in ln(1/d^2) (Urzhumtsev 2009).

    The lowest-resolution bin holds ``n_lowest`` reflections; the width of the second
    bin sets the step; small last bins are merged into their neighbours.
    """
    n = len(d)
    if 2 * n_lowest >= n:
        return np.zeros(n, int)
    lnss = np.sort(np.log(1.0 / d ** 2))
    s0, s1, s2 = lnss[0], lnss[n_lowest], lnss[2 * n_lowest]
    smax = lnss[-1]
    step = s2 - s1

    def limits(step):
        lim = [s0]
        x = s1
        while x <= smax:
            lim.append(x)
            x += step
        lim.append(min(smax, x))
        return lim

    lim = limits(step)
    if len(lim) > max_bins:
        lim = limits((smax - s1) / (max_bins - 1))
    # pairs as in cctbx: consecutive limits, the last pair closing at smax
    pairs = [(lim[i], lim[i + 1]) for i in range(len(lim) - 2)]
    pairs.append((lim[-2], lim[-1]))
    x = np.log(1.0 / d ** 2)
    eps = 1e-9
    sels = []
    for i, (a, b) in enumerate(pairs):
        lo = a - eps if i == 0 else a
        hi = b + eps if i == len(pairs) - 1 else b
        sels.append((x >= lo) & (x < hi) if i < len(pairs) - 1 else (x >= lo) & (x <= hi))
    if len(sels) > 1 and sels[-1].sum() < sels[-2].sum() / 4:
        sels = sels[:-2] + [sels[-2] | sels[-1]]
    merged = []
    for s in sels:
        if s.sum() < min_per_bin and merged:
            merged[-1] = merged[-1] | s
        else:
            merged.append(s)
    out = np.full(n, -1)
    for i, s in enumerate(merged):
        out[s & (out < 0)] = i
    out[out < 0] = len(merged) - 1
    return out


# ----------------------------------------------------------------------------- helpers

def ls_scale(fo: np.ndarray, fm_abs: np.ndarray) -> float:
    """The k minimizing sum (Fo - k |Fm|)^2."""
    den = (fm_abs * fm_abs).sum()
    return float((fo * fm_abs).sum() / den) if den > 0 else 1.0


def aniso_basis(spacegroup: gemmi.SpaceGroup) -> np.ndarray:
    """(6, m) basis of U* tensors (u11 u22 u33 u12 u13 u23) invariant under the
    point group: k_aniso(h) is then equal for symmetry-equivalent reflections."""
    rows = []
    for op in spacegroup.operations().sym_ops:
        r = np.array(op.rot, float) / gemmi.Op.DEN
        m = np.zeros((6, 6))
        for j in range(6):
            v = np.zeros(6)
            v[j] = 1
            u = _sym(v)
            w = r @ u @ r.T
            m[:, j] = [w[0, 0], w[1, 1], w[2, 2], w[0, 1], w[0, 2], w[1, 2]]
        rows.append(m - np.eye(6))
    a = np.vstack(rows)
    _, sv, vt = np.linalg.svd(a)
    null = vt[np.sum(sv > 1e-8):].T
    return null


def _lsq(a: np.ndarray, b: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Least-squares solution of (w a) x = (w b) for a tall, well-posed a (rows weighted
    by w): normal equations with Jacobi scaling (fast for a few columns), lstsq if they
    are singular."""
    aw = a if w is None else a * w[:, None]
    bw = b if w is None else b * w
    ata = aw.T @ aw
    atb = aw.T @ bw
    d = np.sqrt(np.diag(ata))
    d[d == 0] = 1.0
    try:
        x = np.linalg.solve(ata / np.outer(d, d), atb / d) / d
    except np.linalg.LinAlgError:
        x = None
    if x is None or not np.all(np.isfinite(x)):
        x, *_ = np.linalg.lstsq(aw, bw, rcond=None)
    return x


def _sym(v):
    return np.array([[v[0], v[3], v[4]], [v[3], v[1], v[5]], [v[4], v[5], v[2]]])


def aniso_quadratic(hkl: np.ndarray) -> np.ndarray:
    """(n, 6) terms h^2, k^2, l^2, 2hk, 2hl, 2kl of h^T U* h."""
    h, k, l = (hkl[:, i].astype(float) for i in range(3))
    return np.stack([h * h, k * k, l * l, 2 * h * k, 2 * h * l, 2 * k * l], axis=1)


def k_aniso_from_ustar(hkl: np.ndarray, u_star: np.ndarray) -> np.ndarray:
    return np.exp(-2 * np.pi ** 2 * aniso_quadratic(hkl) @ u_star)


def ustar_to_bcart(u_star: np.ndarray, cell: gemmi.UnitCell) -> np.ndarray:
    """U* (reciprocal, fractional) to B_cart (u11 u22 u33 u12 u13 u23 order, times 8pi^2)."""
    o = np.array(cell.orth.mat.tolist())
    u_cart = o @ _sym(u_star) @ o.T
    return 8 * np.pi ** 2 * np.array([u_cart[0, 0], u_cart[1, 1], u_cart[2, 2],
                                      u_cart[0, 1], u_cart[0, 2], u_cart[1, 2]])


def _moving_average(x: np.ndarray) -> np.ndarray:
    """cctbx's smoother: local extrema replaced by 3-point means, five passes."""
    x_ = np.r_[x[0], x, x[-1]].astype(float)
    for _ in range(5):
        res = x_.copy()
        for i in range(1, len(x_) - 1):
            if ((x_[i - 1] < x_[i] and x_[i + 1] < x_[i])
                    or (x_[i - 1] > x_[i] and x_[i + 1] > x_[i])):
                res[i] = (x_[i - 1] + x_[i] + x_[i + 1]) / 3.0
        x_ = res
    return x_[1:-1]


# ----------------------------------------------------------------------------- model

@dataclass
class ScaleModel:
    """The fitted scales, per reflection, and their parameters."""

    k_mask: np.ndarray          # (n,)
    k_iso: np.ndarray           # (n,) overall * exponential * per-bin isotropic scale
    k_aniso: np.ndarray         # (n,)
    u_star: np.ndarray          # (6,)
    k_mask_bin: np.ndarray      # (nbins,) smoothed bin values
    bins: np.ndarray            # (n,) bin index
    b_iso: float = 0.0          # B of the exponential part of k_iso
    b_cart: np.ndarray | None = None

    def fmodel(self, fcalc: np.ndarray, fmask: np.ndarray) -> np.ndarray:
        return self.k_iso * self.k_aniso * (fcalc + self.k_mask * fmask)

    def k_mask_at(self, d: np.ndarray) -> np.ndarray:
        """k_mask interpolated for other reflections (e.g. unobserved) by resolution."""
        return np.interp(1.0 / d ** 2, self._bin_s2, self.k_mask_bin)

    _bin_s2: np.ndarray | None = None
    #: the scaler's parameters after the fit, to start the next fit from (`run(start=)`)
    state: dict | None = None


class BulkSolventScaler:
    """Fits k_mask, k_iso and k_aniso to observed amplitudes (work set only)."""

    def __init__(self, fobs, fcalc, fmask, hkl, d, work, spacegroup, cell=None,
                 bins=None, cycles: int = 20, tol: float = 1e-4, aniso: bool = True,
                 basis: np.ndarray | None = None, quad: np.ndarray | None = None):
        self.fo = np.asarray(fobs, float)
        self.fc = np.asarray(fcalc, complex)
        self.fm = np.asarray(fmask, complex)
        self.hkl = np.asarray(hkl)
        self.d = np.asarray(d, float)
        self.ss = 1.0 / self.d ** 2 / 4.0
        work = np.asarray(work, bool) & np.isfinite(self.fo) & (self.fo > 0)
        self.work = work
        self.bins = log_bins(self.d) if bins is None else np.asarray(bins)
        self.nbins = int(self.bins.max()) + 1
        self.bin_idx = [np.flatnonzero(self.bins == i) for i in range(self.nbins)]
        # a bin with no work reflections would leave its scales undetermined
        self.cell = cell
        # basis and quad depend only on the space group and hkl: callers that scale the
        # same reflections again (Fmodel.update) pass them in
        self.basis = aniso_basis(spacegroup) if basis is None else basis
        self.quad = aniso_quadratic(self.hkl) @ self.basis if quad is None else quad  # (n, m)
        self.cycles = cycles
        self.tol = tol
        self.aniso = aniso
        n = len(self.fo)
        self.k_mask = np.zeros(n)
        self.k_iso = np.ones(n)          # per-bin part
        self.k_exp = np.ones(n)          # k * exp(-b ss)
        self.k_aniso = np.ones(n)
        self.u_par = np.zeros(self.basis.shape[1])
        self.k_mask_bin = np.zeros(self.nbins)
        self.b_exp = 0.0
        s2 = 1.0 / self.d ** 2
        self.bin_s2 = np.array([s2[i].mean() if len(i) else 0 for i in self.bin_idx])
        self.bin_ss_lim = [(self.ss[i].min(), self.ss[i].max()) if len(i) else (0, 0)
                           for i in self.bin_idx]
        # work reflections grouped by bin, for the k_mask scans
        wb = [i[self.work[i]] for i in self.bin_idx]
        self._wb_order = np.concatenate(wb) if wb else np.zeros(0, int)
        self._wb_starts = np.r_[0, np.cumsum([len(i) for i in wb])].astype(np.int64)

    # -- evaluation ----------------------------------------------------------
    def f_model(self, k_mask=None, k_iso=None, k_exp=None, k_aniso=None):
        km = self.k_mask if k_mask is None else k_mask
        ki = self.k_iso if k_iso is None else k_iso
        ke = self.k_exp if k_exp is None else k_exp
        ka = self.k_aniso if k_aniso is None else k_aniso
        return ki * ke * ka * (self.fc + km * self.fm)

    def r_work(self, fmodel=None, sel=None) -> float:
        fm = self.f_model() if fmodel is None else fmodel
        w = self.work if sel is None else (self.work & sel)
        return r_factor(self.fo[w], fm[w])

    def _r_sel(self, sel, **kw) -> float:
        fm = self.f_model(**kw)
        return r_factor(self.fo[sel], fm[sel])

    # -- steps -----------------------------------------------------------------
    def fit_k_exp(self):
        """Overall k*exp(-b ss) from ln(Fo/|Fmodel|) (kept only if R improves)."""
        w = self.work
        fm = np.abs(self.fc + self.k_mask * self.fm)
        ok = w & (fm > 0)
        y = np.log(self.fo[ok] / fm[ok])
        x = self.ss[ok]
        wt = fm[ok] ** 2
        a = np.stack([np.ones_like(x), -x], axis=1)
        coef, *_ = np.linalg.lstsq(a * np.sqrt(wt)[:, None], y * np.sqrt(wt), rcond=None)
        best = (self.r_work(), None)
        cands = [(np.exp(coef[0]), coef[1])]
        # and a scan in B with the LS scale for each (cctbx's f_kb_scaled)
        from mainpy.xtal._scaling_kernels import b_scan
        b_all = np.arange(-100.0, 100.0, 1.0)
        k_all, r_all = b_scan(self.fo[w], fm[w], self.ss[w], b_all[0], len(b_all))
        for js in np.array_split(np.arange(len(b_all)), 8):
            j = js[int(np.argmin(r_all[js]))]
            cands.append((k_all[j], b_all[j]))
        ones = np.ones_like(self.k_iso)
        for k, b in cands:
            if b < -100:
                continue
            ke = k * np.exp(-b * self.ss)
            r = r_factor(self.fo[w], (ke * fm)[w])
            if r < best[0]:
                best = (r, (k, b, ke))
        if best[1] is not None:
            self.k_exp = best[1][2]
            self.b_exp = best[1][1]
            self.k_iso = ones.copy()
            self.k_aniso = ones.copy()
            self.u_par[:] = 0

    def k_mask_grid_search(self, fine: bool = False):
        """Per-bin k_mask and isotropic scale; smoothed, interpolated, kept if R drops.

        In each bin the trial k_mask with the lowest R (Fo against |Fc + k Fm| with the
        bin's LS scale) wins: 0..1 in steps of 0.01, or (fine) +-0.05 around the current
        value."""
        from mainpy.xtal._scaling_kernels import k_mask_scan
        k_total = self.k_exp * self.k_aniso
        if fine:
            trials = []
            for i in range(self.nbins):
                x = self.k_mask_bin[i]
                trials.append(np.r_[x, np.arange(max(0.0, min(x, 1.0) - 0.05),
                                                 min(x, 1.0) + 0.0501, 0.01)])
        else:
            trials = [np.arange(0.0, 1.0001, 0.01)] * self.nbins
        ntrial = np.array([len(t) for t in trials], dtype=np.int64)
        tr = np.zeros((self.nbins, int(ntrial.max())))
        for i, t in enumerate(trials):
            tr[i, :len(t)] = t
        o = self._wb_order
        fc, fm = self.fc[o], self.fm[o]
        kb, sb = k_mask_scan(self.fo[o] / k_total[o], fc.real.copy(), fc.imag.copy(),
                             fm.real.copy(), fm.imag.copy(), self._wb_starts, tr, ntrial)
        kiso = sb[self.bins]
        smooth = self._smooth(kb)
        k_mask = self._interpolate(smooth)
        if fine:
            kiso = self._bin_scales(k_mask)
        r0 = self.r_work()
        if self.r_work(self.f_model(k_mask=k_mask, k_iso=kiso)) < r0:
            self.k_mask, self.k_iso, self.k_mask_bin = k_mask, kiso, smooth

    def _bin_scales(self, k_mask):
        """Per-bin LS scale of Fo against the current Fmodel with the given k_mask."""
        fm = np.abs(self.f_model(k_mask=k_mask, k_iso=np.ones(len(self.fo))))
        w = self.work
        num = np.bincount(self.bins[w], self.fo[w] * fm[w], minlength=self.nbins)
        den = np.bincount(self.bins[w], fm[w] * fm[w], minlength=self.nbins)
        kb = np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)
        return kb[self.bins]

    def _smooth(self, kb):
        res = _moving_average(kb)
        out = np.zeros_like(res)
        for i, v in enumerate(res):
            d = 1.0 / np.sqrt(self.bin_ss_lim[i][1]) / 2.0
            if v == 0 and d < 3:
                break
            out[i] = v
        return out

    def _interpolate(self, kb):
        """Per-reflection k_mask: linear in ss across each bin toward the next bin's
        value, or constant, whichever gives the lower R in the bin (as cctbx)."""
        nb = self.nbins
        kb = np.asarray(kb, float)
        x1 = np.array([lim[0] for lim in self.bin_ss_lim], float)
        x2 = np.array([lim[1] for lim in self.bin_ss_lim], float)
        # toward the next bin's value; the last bin toward the one before
        y2 = np.r_[kb[1:], kb[-2] if nb > 1 else kb[-1]]
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(x2 != x1, (y2 - kb) / (x2 - x1), 0.0)
        b = self.bins
        lin = np.maximum(kb[b] + slope[b] * (self.ss - x1[b]), 0.0)
        const = kb[b]
        w = self.work
        k_scale = (self.k_iso * self.k_exp * self.k_aniso)[w]
        fo, fc, fm, bw = self.fo[w], self.fc[w], self.fm[w], b[w]
        den = np.bincount(bw, fo, minlength=nb)
        ra = np.bincount(bw, np.abs(fo - np.abs(k_scale * (fc + lin[w] * fm))), minlength=nb)
        rb = np.bincount(bw, np.abs(fo - np.abs(k_scale * (fc + const[w] * fm))), minlength=nb)
        # a bin without work reflections keeps the constant (as r_factor's NaN did)
        use_lin = (den > 0) & (ra < rb)
        return np.where(use_lin[b], lin, const)

    def fit_aniso(self):
        """U* (symmetry-constrained) by linear LS on ln(Fo/|Fmodel|), refined by
        Gauss-Newton on sum (Fo - k|Fm|)^2; kept if R-work drops."""
        w = self.work
        fm = np.abs(self.f_model(k_aniso=np.ones(len(self.fo))))
        ok = w & (fm > 0)
        y = np.log(self.fo[ok] / fm[ok])
        q = -2 * np.pi ** 2 * self.quad[ok]
        a = np.empty((len(y), q.shape[1] + 1))
        a[:, 0] = 1.0
        a[:, 1:] = q
        wt = fm[ok]
        coef = _lsq(a, y, wt)
        c0, par = coef[0], coef[1:]
        # Gauss-Newton on amplitudes: model k0 * exp(q . par) * |Fm|
        fo, fmo = self.fo[ok], fm[ok]
        x = coef.copy()
        for _ in range(10):
            mod = np.exp(a @ x) * fmo
            res = fo - mod
            step = _lsq(a * mod[:, None], res)
            x = x + step
            if np.abs(step).max() < 1e-8:
                break
        best_r = self.r_work()
        best = None
        for k0, p in ((np.exp(c0), par), (np.exp(x[0]), x[1:])):
            ka = np.exp(-2 * np.pi ** 2 * self.quad @ p)
            r = self.r_work(self.f_model(k_aniso=ka * k0))
            if r < best_r:
                best_r, best = r, (ka * k0, p)
        if best is not None:
            # keep k_aniso normalized; its overall factor moves into the exponential part
            ka, p = best
            k0 = ka[w].mean() if w.any() else 1.0
            self.k_aniso = ka / k0
            self.k_exp = self.k_exp * k0
            self.u_par = p

    def apply_overall_scale(self):
        fm = np.abs(self.f_model())
        k = ls_scale(self.fo[self.work], fm[self.work])
        self.k_iso = self.k_iso * k

    # -- driver -----------------------------------------------------------------
    _STATE = ("k_mask", "k_iso", "k_exp", "k_aniso", "u_par", "k_mask_bin", "b_exp")

    def run(self, start: dict | None = None) -> ScaleModel:
        """Fit the scales. Cold (default): overall exponential scale, coarse k_mask grid
        search, then cycles of fine k_mask search and anisotropic scale until R-work
        stops dropping. ``start`` (a previous ScaleModel.state for the same reflections,
        e.g. after the atoms moved a little) skips the coarse stage and continues the
        fine cycles from those parameters."""
        first = 0
        if start is not None and len(start["k_mask"]) == len(self.fo) \
                and len(start["k_mask_bin"]) == self.nbins:
            for name in self._STATE:
                v = start[name]
                setattr(self, name, v.copy() if isinstance(v, np.ndarray) else v)
            first = 1
        for cycle in range(first, self.cycles):
            r_start = self.r_work()
            if cycle == 0:
                for _ in range(2):
                    self.fit_k_exp()
                    self.k_mask_grid_search()
                    self.fit_k_exp()
            else:
                self.k_mask_grid_search(fine=True)
            if self.aniso:
                self.fit_aniso()
            r = self.r_work()
            if r_start - r < self.tol and cycle > 0:
                break
        self.apply_overall_scale()
        state = {name: (getattr(self, name).copy() if isinstance(getattr(self, name), np.ndarray)
                        else getattr(self, name)) for name in self._STATE}
        u_star = self.basis @ self.u_par
        sm = ScaleModel(k_mask=self.k_mask, k_iso=self.k_iso * self.k_exp,
                        k_aniso=self.k_aniso, u_star=u_star, k_mask_bin=self.k_mask_bin,
                        bins=self.bins, b_iso=self.b_exp,
                        b_cart=ustar_to_bcart(u_star, self.cell) if self.cell else None)
        sm._bin_s2 = self.bin_s2
        sm.state = state
        return sm


def fit_scales(fobs, fcalc, fmask, hkl, d, work, spacegroup, cell=None,
               bins=None) -> ScaleModel:
    """Bulk-solvent and overall scales fitted on the work reflections."""
    return BulkSolventScaler(fobs, fcalc, fmask, hkl, d, work, spacegroup, cell,
                             bins).run()
