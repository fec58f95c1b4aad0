"""Multi-model (ensemble) refinement: N copies of the model refined together.

The copies are alternative conformers of one model: every residue with a selected atom
gets N conformers labelled A, B, C, ... (the form Coot and PyMOL read and show), each at
occupancy 1/N of the atom's occupancy; the rest stays shared at its occupancy. As atoms
of one model, everything follows without a term of its own: Fcalc is the occupancy-
weighted sum of the copies, gemmi's topology restrains each conformer within itself
(and joins it to the shared neighbours), the non-bonded search skips pairs of different
conformers (restraints/_cells.py), and each copy has its own B-values. The copies start
from kicked positions (seeded) so that the data, not the start, decide how they spread
(Levin et al. 2007, Burnley et al. 2012). The spread per residue (rmsf: root mean square
distance of the copies' atoms from their mean) is reported, to CSV and, with matplotlib,
to a PNG along the chain.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mainpy.errors import MainpyError
from mainpy.fileio import atomic_write

#: the most copies: one conformer letter each
MAX_COPIES = 26


def first_conformers(st) -> int:
    """Keep the first conformer of every residue that has several (its atoms at the
    occupancy of the whole set, altloc removed), in place; returns how many residues
    had conformers. The copies describe the disorder instead."""
    n = 0
    for ch in st[0]:
        for res in ch:
            alts = [a.altloc for a in res if a.altloc != "\0"]
            if not alts:
                continue
            n += 1
            first = alts[0]
            total = {}
            for a in res:
                total[a.name] = total.get(a.name, 0.0) + a.occ
            for j in range(len(res) - 1, -1, -1):
                a = res[j]
                if a.altloc not in ("\0", first):
                    del res[j]
            for a in res:
                if a.altloc != "\0":
                    a.occ = min(1.0, total[a.name])
                    a.altloc = "\0"
    return n


def copies_structure(st, mask: np.ndarray, n: int):
    """A clone of ``st`` (model 0, conformers reduced to the first: `first_conformers`)
    whose residues holding an atom of ``mask`` (over the atoms of ``st``) have ``n``
    conformers A.. at occupancy occ/n."""
    if not 1 <= n <= MAX_COPIES:
        raise MainpyError(f"MODELS takes 1 to {MAX_COPIES} copies (got {n})")
    keep = []
    for ch in st[0]:
        for res in ch:
            first = next((a.altloc for a in res if a.altloc != "\0"), "\0")
            keep.extend(a.altloc in ("\0", first) for a in res)
    if len(mask) != len(keep):
        raise MainpyError(f"the selection has {len(mask)} atoms, the model {len(keep)}")
    mask = np.asarray(mask, bool)[np.array(keep, bool)]
    out = st.clone()
    while len(out) > 1:
        del out[len(out) - 1]
    first_conformers(out)
    i = 0
    for ch in out[0]:
        for res in ch:
            k = len(res)
            sel = bool(np.asarray(mask[i:i + k]).any())
            i += k
            if not sel:
                continue
            atoms = [a.clone() for a in res]
            for j in range(len(res) - 1, -1, -1):
                del res[j]
            for a in atoms:
                for c in range(n):
                    b = a.clone()
                    b.altloc = chr(ord("A") + c)
                    b.occ = a.occ / n
                    res.add_atom(b)
    if i != len(mask):
        raise MainpyError(f"the selection has {len(mask)} atoms, the model {i}")
    out.setup_entities()
    return out


def kick_copies(atoms, amplitude: float, seed: int) -> np.ndarray:
    """Coordinates with every conformer atom moved at random by at most ``amplitude`` A
    (uniform in distance, reproducible by ``seed``); the shared atoms stay."""
    from mainpy.model.perturb import kick_coordinates
    mask = np.asarray(atoms.altloc) != ""
    return kick_coordinates(atoms.xyz, mask, amplitude, seed=seed, distribution="uniform")


def rmsf_per_residue(atoms) -> list:
    """(chain, residue number, name, copies, rmsf A) for every residue with conformers:
    the rms distance of its conformer atoms from the mean position of their copies."""
    alt = np.asarray(atoms.altloc)
    out = []
    ridx = np.asarray(atoms.residue_index)
    for r in np.unique(ridx[alt != ""]):
        rows = np.flatnonzero((ridx == r) & (alt != ""))
        names = atoms.name[rows]
        d2 = []
        for nm in np.unique(names):
            pos = atoms.xyz[rows[names == nm]]
            d2.extend(((pos - pos.mean(axis=0)) ** 2).sum(axis=1))
        j = rows[0]
        out.append((str(atoms.chain[j]), int(atoms.resseq[j]), str(atoms.resname[j]),
                    len(np.unique(alt[rows])), float(np.sqrt(np.mean(d2)))))
    return out


def write_rmsf(rows, path) -> list:
    """The rmsf rows to a CSV at ``path`` and, if matplotlib is there, a PNG beside it
    (same name, .png). Returns the files written."""
    import io
    buf = io.StringIO()
    buf.write("chain,residue,name,copies,rmsf\n")
    for ch, num, name, n, r in rows:
        buf.write(f"{ch},{num},{name},{n},{r:.4f}\n")
    atomic_write(str(path), lambda tmp: Path(tmp).write_text(buf.getvalue()))
    written = [str(path)]
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return written
    png = str(Path(path).with_suffix(".png"))
    fig, ax = plt.subplots(figsize=(8, 3))
    for ch in dict.fromkeys(r[0] for r in rows):
        xs = [r[1] for r in rows if r[0] == ch]
        ax.plot(xs, [r[4] for r in rows if r[0] == ch], marker=".", label=f"chain {ch}")
    ax.set_xlabel("residue")
    ax.set_ylabel("rmsf of the copies (A)")
    ax.legend()
    fig.tight_layout()
    atomic_write(png, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
    written.append(png)
    return written


def session_models(session, n: int, mask=None, amplitude: float = 0.3, seed: int = 1) -> str:
    """MODELS n: the session's model becomes n kicked copies (of the residues in
    ``mask``, all by default); the topology is defined again if it was, the model
    re-phased if there are data. Returns what it did, for the echo."""
    from mainpy.model.atoms import from_structure
    from mainpy.model.model import Model
    model = session.need_model()
    if mask is None:
        mask = np.ones(len(model.atoms), bool)
    if not np.asarray(mask).any():
        raise MainpyError("MODELS: the selection holds no atom")
    alt = np.asarray(model.atoms.altloc)
    if amplitude < 0:
        raise MainpyError(f"MODELS KICK cannot be negative (got {amplitude})")
    st = copies_structure(model.synced_structure(), np.asarray(mask, bool), n)
    atoms = from_structure(st)
    if n > 1 and amplitude > 0:
        atoms = atoms.replace(xyz=kick_copies(atoms, amplitude, seed))
    had_topology = session.restraints is not None
    session.set_model(Model(atoms, st, model.path))
    if had_topology:
        from mainpy.app.topology import define_topology
        define_topology(session)
    n_res = len(rmsf_per_residue(atoms))
    n_alt = len(np.unique(model.atoms.residue_index[alt != ""]))
    text = ((f" models: {n_alt} residues with conformers of their own kept the first\n"
             if n_alt else "") + f" models: {n} copies of {n_res} residues (conformers A-{chr(ord('A') + n - 1)}, "
            f"occupancy 1/{n} each), kicked by up to {amplitude:g} A (seed {seed}); "
            f"{len(atoms)} atoms now")
    if session.reflections is not None:
        from mainpy.app.phasing import rephase
        rw, rf = rephase(session).r_factors()
        text += f"; R-work {rw:.4f}  R-free {rf:.4f}"
    return text
