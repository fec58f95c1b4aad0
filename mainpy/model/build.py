"""Build peptide models from ideal geometry (for the demo data and tests).

The backbone is placed atom by atom from internal coordinates (the NeRF construction,
Parsons et al. 2005) with Engh & Huber (2001) bond lengths and angles and given phi/psi;
side chains come from the ideal coordinates of a monomer dictionary, superposed on each
residue's N, CA, C.
"""

from __future__ import annotations

import math

import gemmi
import numpy as np

# Engh & Huber (2001) backbone geometry
N_CA, CA_C, C_N, C_O = 1.459, 1.525, 1.336, 1.229
ANG_N_CA_C, ANG_CA_C_N, ANG_C_N_CA, ANG_CA_C_O = 111.0, 117.2, 121.7, 120.1

HELIX = (-57.8, -47.0)   # alpha helix phi, psi
STRAND = (-120.0, 130.0)


def place(a, b, c, bond, angle, torsion):
    """Position of atom d with |cd| = bond, angle bcd, torsion abcd (degrees)."""
    angle, torsion = math.radians(angle), math.radians(torsion)
    bc = c - b
    bc /= np.linalg.norm(bc)
    n = np.cross(b - a, bc)
    n /= np.linalg.norm(n)
    m = np.cross(n, bc)
    d2 = np.array([-bond * math.cos(angle),
                   bond * math.sin(angle) * math.cos(torsion),
                   bond * math.sin(angle) * math.sin(torsion)])
    return c + d2[0] * bc + d2[1] * m + d2[2] * n


def backbone(n_res: int, phi_psi=HELIX, omega=180.0) -> np.ndarray:
    """(n_res, 4, 3) coordinates of N, CA, C, O for a chain with constant phi/psi."""
    phi, psi = phi_psi
    out = np.zeros((n_res, 4, 3))
    n = np.array([0.0, 0.0, 0.0])
    ca = np.array([N_CA, 0.0, 0.0])
    c = ca + CA_C * np.array([-math.cos(math.radians(ANG_N_CA_C)),
                              math.sin(math.radians(ANG_N_CA_C)), 0.0])
    for i in range(n_res):
        if i > 0:
            pn, pca, pc = out[i - 1, 0], out[i - 1, 1], out[i - 1, 2]
            n = place(pn, pca, pc, C_N, ANG_CA_C_N, psi)
            ca = place(pca, pc, n, N_CA, ANG_C_N_CA, omega)
            c = place(pc, n, ca, CA_C, ANG_N_CA_C, phi)
        out[i, :3] = n, ca, c
    for i in range(n_res):
        n, ca, c = out[i, :3]
        out[i, 3] = place(n, ca, c, C_O, ANG_CA_C_O, psi + 180.0)  # O opposite the next N
    return out


def _kabsch(mobile: np.ndarray, target: np.ndarray):
    """Rotation R and translation t with mobile @ R.T + t ~ target (least squares)."""
    mc, tc = mobile.mean(0), target.mean(0)
    h = (mobile - mc).T @ (target - tc)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(vt.T @ u.T))
    r = vt.T @ np.diag([1, 1, d]) @ u.T
    return r, tc - mc @ r.T


def ideal_residue_atoms(monlib: gemmi.MonLib, resname: str):
    """[(name, element, xyz)] of a monomer's ideal heavy atoms (no hydrogens, no OXT)."""
    cc = monlib.monomers[resname]
    out = []
    for a in cc.atoms:
        if a.is_hydrogen() or a.id == "OXT":
            continue
        out.append((a.id, a.el.name, np.array([a.xyz.x, a.xyz.y, a.xyz.z])))
    return out


def peptide(sequence: list[str], monlib: gemmi.MonLib | None = None, phi_psi=HELIX,
            chain: str = "A", b_iso: float = 20.0) -> gemmi.Structure:
    """A gemmi.Structure of one chain: backbone from ideal geometry, side chains from
    the dictionary's ideal coordinates (only CB without a dictionary)."""
    bb = backbone(len(sequence), phi_psi)
    st = gemmi.Structure()
    st.add_model(gemmi.Model(1))
    ch = st[0].add_chain(gemmi.Chain(chain))
    for i, resname in enumerate(sequence):
        res = gemmi.Residue()
        res.name = resname
        res.seqid = gemmi.SeqId(i + 1, " ")
        res.entity_type = gemmi.EntityType.Polymer
        atoms = [("N", "N", bb[i, 0]), ("CA", "C", bb[i, 1]), ("C", "C", bb[i, 2]),
                 ("O", "O", bb[i, 3])]
        if monlib is not None and resname in monlib.monomers:
            ideal = {name: (el, xyz) for name, el, xyz in ideal_residue_atoms(monlib, resname)}
            if all(k in ideal for k in ("N", "CA", "C")):
                mob = np.array([ideal[k][1] for k in ("N", "CA", "C")])
                r, t = _kabsch(mob, bb[i, :3])
                for name, (el, xyz) in ideal.items():
                    if name not in ("N", "CA", "C", "O"):
                        atoms.append((name, el, xyz @ r.T + t))
        elif resname != "GLY":
            n, ca, c = bb[i, :3]
            atoms.append(("CB", "C", place(c, n, ca, 1.530, 110.5, -122.5)))
        for name, el, xyz in atoms:
            at = gemmi.Atom()
            at.name = name
            at.element = gemmi.Element(el)
            at.pos = gemmi.Position(*xyz)
            at.occ = 1.0
            at.b_iso = b_iso
            res.add_atom(at)
        ch.add_residue(res)
    st.setup_entities()
    return st
