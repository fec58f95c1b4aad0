"""Topology: restraints of a model from the monomer library, as flat arrays.

gemmi builds the topology (`prepare_topology`: monomers, peptide links trans/cis,
disulfides and other links given in the file, modifications, altlocs conformer by
conformer; consecutive residues whose link gemmi's 2 A heuristic drops in a distorted
model are linked all the same, `stretched_links`). It is converted once into numpy
arrays whose atom indices are rows of `mainpy.model.atoms.Atoms` (gemmi iteration order
of model 0). Hydrogens are neither added nor removed: the model's atoms are used as
they are.

Which restraints are kept follows Refmac/servalcat defaults: every bond, angle, chirality
and plane with esd > 0; torsions only for peptide chi angles, sp2-sp2 torsions, torsions
ending at a hydrogen and the peptide omega of links (``torsions="all"`` keeps every torsion
with esd > 0).

Bonds that no dictionary or link gives are found by distance and restrained at their input
length (from_coordinates.contact_bonds): those of residues whose dictionary was made from
the model to other residues (with the angles at both ends), and those of metal ions to
the N, O, S and halogen atoms that coordinate them (gemmi's topology has no metal links
unless the library has them; unbonded, the ion is pushed off its site by the vdW
repulsion of the atoms next to its ligands, e.g. Mg - C8 of a guanine bound at N7).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import gemmi
import numpy as np

from mainpy.errors import InputError
from mainpy.restraints import from_coordinates, stretched_links
from mainpy.restraints.monlib import MonomerLibrary, missing_message

#: Refmac's fallback esd of a chiral volume (A^3) when it cannot be propagated
CHIRAL_ESD_DEFAULT = 0.2
#: van der Waals radius (A) for atoms whose type is not in ener_lib
DEFAULT_VDW_RADIUS = 1.8
#: servalcat/Refmac cap on the vdW radius
MAX_VDW_RADIUS = 2.0


@dataclass
class Restraints:
    """Restraint arrays indexed by atom rows. Angles in degrees, lengths in A."""

    n_atoms: int
    bond_idx: np.ndarray      # (nb, 2) int64
    bond_ideal: np.ndarray    # (nb,)
    bond_esd: np.ndarray      # (nb,)
    bond_sym: np.ndarray      # (nb,) int64: -1 same ASU, else row of sym_ops for atom 2
    sym_ops: np.ndarray       # (k, 3, 4) orthogonal transforms [R | t] for symmetry links
    angle_idx: np.ndarray     # (na, 3), middle atom is the vertex
    angle_ideal: np.ndarray
    angle_esd: np.ndarray
    tors_idx: np.ndarray      # (nt, 4)
    tors_ideal: np.ndarray
    tors_esd: np.ndarray
    tors_period: np.ndarray   # (nt,) int64, 0 treated as 1
    tors_label: list
    chir_idx: np.ndarray      # (nc, 4): centre, then the three neighbours
    chir_ideal: np.ndarray    # ideal absolute volume
    chir_sign: np.ndarray     # (nc,) int64: +1, -1, or 0 (either sign)
    chir_esd: np.ndarray
    plane_atoms: np.ndarray   # flat atom rows of all planes
    plane_start: np.ndarray   # (np + 1,) offsets into plane_atoms
    plane_esd: np.ndarray     # per entry of plane_atoms
    plane_label: list
    chem_type: np.ndarray     # (n,) energy type from the dictionary ("" if none)
    vdw_radius: np.ndarray    # (n,)
    ion_radius: np.ndarray    # (n,) NaN where not defined
    hb_type: np.ndarray       # (n,) 'A','D','B','H','N' or ''
    is_metal: np.ndarray      # (n,) bool
    restrained: np.ndarray    # (n,) bool: the atom's residue has a dictionary
    missing: list = field(default_factory=list)    # residue names with no dictionary
    messages: list = field(default_factory=list)   # for the user

    def counts(self) -> dict:
        """Number of restraints of each kind."""
        return {"bond": len(self.bond_ideal), "angle": len(self.angle_ideal),
                "torsion": len(self.tors_ideal), "chiral": len(self.chir_ideal),
                "plane": len(self.plane_start) - 1}


def _atom_rows(structure: gemmi.Structure) -> gemmi.Structure:
    """A clone of model 0 with each atom's row number + 1 stored in Atom.fraction.

    (gemmi renumbers serials in prepare_topology, but leaves `fraction` alone; a float32
    holds integers exactly up to 2**24 atoms.)"""
    st = structure.clone()
    while len(st) > 1:
        del st[len(st) - 1]
    i = 0
    for ch in st[0]:
        for res in ch:
            for at in res:
                i += 1
                at.fraction = float(i)
    return st


def _drop_unknown(st: gemmi.Structure, monlib: gemmi.MonLib) -> list[str]:
    """Remove residues with no dictionary from the clone; return their names."""
    dropped = []
    for ch in st[0]:
        for k in range(len(ch) - 1, -1, -1):
            if ch[k].name not in monlib.monomers:
                dropped.append(ch[k].name)
                del ch[k]
    return sorted(set(dropped))


def _rows(atoms) -> tuple:
    return tuple(round(a.fraction) - 1 for a in atoms)


def _keep_torsion(t, link_id: str | None, peptide: bool) -> bool:
    """Refmac/servalcat default choice of torsion restraints."""
    label = t.restr.label
    if label.startswith("sp2_sp2"):
        return True
    if t.atoms[0].is_hydrogen() or t.atoms[3].is_hydrogen():
        return True
    if link_id is not None:
        return label == "omega"
    return peptide and label.startswith("chi")


def _chiral_esd(bonds: dict, angles: dict, c: int, a: tuple) -> float:
    """esd of the ideal chiral volume propagated from bond and angle esds (servalcat)."""
    try:
        b = [bonds[frozenset((c, x))] for x in a]
        ang = [angles[(min(a[0], a[1]), c, max(a[0], a[1]))],
               angles[(min(a[1], a[2]), c, max(a[1], a[2]))],
               angles[(min(a[2], a[0]), c, max(a[2], a[0]))]]
    except KeyError:
        return CHIRAL_ESD_DEFAULT
    (b1, s1), (b2, s2), (b3, s3) = b
    cs = [math.cos(math.radians(v)) for v, _ in ang]
    sa = [math.radians(s) for _, s in ang]
    x_y = 1 + 2 * cs[0] * cs[1] * cs[2] - cs[0] ** 2 - cs[1] ** 2 - cs[2] ** 2
    if x_y <= 0:
        return CHIRAL_ESD_DEFAULT
    mult = b1 * b2 * b3
    var = x_y * ((b2 * b3 * s1) ** 2 + (b1 * b3 * s2) ** 2 + (b1 * b2 * s3) ** 2)
    var += mult ** 2 / x_y * (
        (1 - cs[0] ** 2) * (cs[0] - cs[1] * cs[2]) ** 2 * sa[0] ** 2
        + (1 - cs[1] ** 2) * (cs[1] - cs[0] * cs[2]) ** 2 * sa[1] ** 2
        + (1 - cs[2] ** 2) * (cs[2] - cs[0] * cs[1]) ** 2 * sa[2] ** 2)
    sig = math.sqrt(var)
    return sig if sig > 0 and math.isfinite(sig) else CHIRAL_ESD_DEFAULT


def build_restraints(structure: gemmi.Structure, library, torsions: str = "refmac"
                     ) -> Restraints:
    """Restraint arrays for model 0 of `structure` from the monomer library.

    `library` is a `MonomerLibrary` or a `gemmi.MonLib`. Residues with no dictionary get
    no restraints (named in `.missing` and `.messages`; `monlib.with_generated` makes them
    one first); the rest are restrained. Bonds of generated residues to other residues and
    of metal ions to their ligands are added by distance (module docstring).
    """
    if torsions not in ("refmac", "all"):
        raise ValueError("torsions must be 'refmac' or 'all'")
    ref = None        # the coordinates generated residues are restrained to, by row
    if isinstance(library, MonomerLibrary):
        monlib = library.monlib
        generated, own = set(library.generated), library.own_geometry
        ref = library.reference_xyz(structure)
    else:
        monlib = library
        generated, own = set(), set()
    if len(structure) == 0:
        raise InputError("the structure has no model, so there is nothing to restrain")
    if ref is None:       # the input geometry: the coordinates as they are
        ref = np.array([a.pos.tolist() for ch in structure[0] for res in ch for a in res],
                       float).reshape(-1, 3)
    st = _atom_rows(structure)
    n = st[0].count_atom_sites()
    missing = _drop_unknown(st, monlib)
    st.setup_entities()
    try:
        topo, stretched, warnings = stretched_links.prepare(
            st, monlib, h_change=gemmi.HydrogenChange.NoChange, reorder=False)
    except (RuntimeError, ValueError) as exc:
        raise InputError(f"cannot build the restraint topology: {exc}") from exc

    rules = []  # (rule, link_id or None, peptide, asu, restrained to the input geometry)
    restrained = np.zeros(n, bool)
    chem_type = np.full(n, "", dtype="U8")
    for ci in topo.chain_infos:
        for ri in ci.res_infos:
            peptide = any(fc.cc.group in (gemmi.ChemComp.Group.Peptide,
                                          gemmi.ChemComp.Group.PPeptide,
                                          gemmi.ChemComp.Group.MPeptide)
                          for fc in ri.chemcomps)
            for link in ri.prev:
                for rule in link.link_rules:
                    rules.append((rule, link.link_id, peptide, gemmi.Asu.Same, False))
            mine = ri.res.name in own
            for rule in ri.monomer_rules:
                rules.append((rule, None, peptide, gemmi.Asu.Same, mine))
            for at in ri.res:
                row = round(at.fraction) - 1
                restrained[row] = True
                cc = ri.get_final_chemcomp(at.altloc)
                try:
                    chem_type[row] = cc.get_atom(at.name).chem_type
                except (RuntimeError, IndexError, ValueError):
                    pass
    for link in topo.extras:
        for rule in link.link_rules:
            rules.append((rule, link.link_id, False, link.asu, False))

    bonds, angles, tors, chirs, planes = [], [], [], [], []
    sym_ops = []
    RK = gemmi.RKind
    for rule, link_id, peptide, asu, mine in rules:
        kind = rule.rkind
        if asu != gemmi.Asu.Same and kind != RK.Bond:
            continue  # only bonds are restrained across symmetry (as servalcat)
        if kind == RK.Bond:
            t = topo.bonds[rule.index]
            if t.restr.esd <= 0:
                continue
            sym = -1
            if asu != gemmi.Asu.Same:
                im = st.cell.find_nearest_image(t.atoms[0].pos, t.atoms[1].pos, asu)
                sym_ops.append(from_coordinates.image_op(st.cell, im))
                sym = len(sym_ops) - 1
            rows = _rows(t.atoms)
            value = _measured(ref, rows) if mine and sym < 0 else t.restr.value
            bonds.append((*rows, value, t.restr.esd, sym))
        elif kind == RK.Angle:
            t = topo.angles[rule.index]
            if t.restr.esd > 0:
                rows = _rows(t.atoms)
                value = _measured(ref, rows) if mine else t.restr.value
                angles.append((*rows, value, t.restr.esd))
        elif kind == RK.Torsion:
            t = topo.torsions[rule.index]
            if t.restr.esd > 0 and (torsions == "all" or _keep_torsion(t, link_id, peptide)):
                tors.append((*_rows(t.atoms), t.restr.value, t.restr.esd,
                             t.restr.period, t.restr.label))
        elif kind == RK.Chirality:
            t = topo.chirs[rule.index]
            ideal = topo.ideal_chiral_abs_volume(t)
            sign = {gemmi.ChiralityType.Positive: 1,
                    gemmi.ChiralityType.Negative: -1}.get(t.restr.sign, 0)
            if mine:      # each instance's own hand: names of equivalent atoms may swap
                vol = _measured(ref, _rows(t.atoms))
                ideal = abs(vol)
                sign = int(np.sign(vol)) if ideal > from_coordinates.CHIRAL_MIN_VOLUME else 0
            if math.isfinite(ideal) and ideal > 0:
                chirs.append((*_rows(t.atoms), ideal, sign))
        elif kind == RK.Plane:
            t = topo.planes[rule.index]
            if t.restr.esd > 0 and len(t.atoms) >= 4:
                planes.append((_rows(t.atoms), t.restr.esd, t.restr.label))

    bonds = _unique(bonds, 2)
    angles = _unique(angles, 3, symmetric=True)
    tors = _unique(tors, 4, symmetric=True)
    contact_messages = _add_contact_bonds(ref, structure, st, generated, bonds, angles,
                                          sym_ops)

    bond_lookup = {frozenset(b[:2]): (b[2], b[3]) for b in bonds}
    angle_lookup = {(min(a[0], a[2]), a[1], max(a[0], a[2])): (a[3], a[4]) for a in angles}
    chir_esd = [_chiral_esd(bond_lookup, angle_lookup, c[0], c[1:4]) for c in chirs]

    vdw, ion, hb, metal = _atom_types(structure, chem_type, monlib.ener_lib.atoms)

    messages = list(contact_messages)
    if stretched:
        messages.append(stretched_links.message(stretched))
    if missing:
        messages.append(missing_message(missing))
    messages.extend(_gemmi_warnings(warnings, metal.any()))

    def arr(rows, cols, dtype=np.int64):
        return (np.array([r[:cols] for r in rows], dtype=dtype).reshape(-1, cols))

    def col(rows, k, dtype=float):
        return np.array([r[k] for r in rows], dtype=dtype)

    plane_start = np.zeros(len(planes) + 1, np.int64)
    plane_start[1:] = np.cumsum([len(p[0]) for p in planes])
    plane_atoms = np.array([i for p in planes for i in p[0]], np.int64)
    plane_esd = np.array([p[1] for p in planes for _ in p[0]], float)

    return Restraints(
        n_atoms=n,
        bond_idx=arr(bonds, 2), bond_ideal=col(bonds, 2), bond_esd=col(bonds, 3),
        bond_sym=np.array([b[4] for b in bonds], np.int64) if bonds else np.zeros(0, np.int64),
        sym_ops=np.array(sym_ops, float).reshape(-1, 3, 4),
        angle_idx=arr(angles, 3), angle_ideal=col(angles, 3), angle_esd=col(angles, 4),
        tors_idx=arr(tors, 4), tors_ideal=col(tors, 4), tors_esd=col(tors, 5),
        tors_period=col(tors, 6, np.int64), tors_label=[t[7] for t in tors],
        chir_idx=arr(chirs, 4), chir_ideal=col(chirs, 4), chir_sign=col(chirs, 5, np.int64),
        chir_esd=np.array(chir_esd, float),
        plane_atoms=plane_atoms, plane_start=plane_start, plane_esd=plane_esd,
        plane_label=[p[2] for p in planes],
        chem_type=chem_type, vdw_radius=vdw, ion_radius=ion, hb_type=hb, is_metal=metal,
        restrained=restrained, missing=missing, messages=messages,
    )


def _measured(xyz: np.ndarray, rows: tuple) -> float:
    """Bond length, angle (degrees) or chiral volume of 2, 3 or 4 atom rows in `xyz`."""
    p = [xyz[r] for r in rows]
    if len(p) == 2:
        return float(np.linalg.norm(p[0] - p[1]))
    if len(p) == 3:
        u, v = p[0] - p[1], p[2] - p[1]
        cos = np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v))
        return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    return from_coordinates.chiral_volume(*p)


def _add_contact_bonds(ref, structure, st, generated, bonds, angles, sym_ops) -> list[str]:
    """Append the bonds found by distance (module docstring) to `bonds` (and their angles
    to `angles`, the symmetry operations of those through symmetry to `sym_ops`), with
    their lengths and angles in the reference coordinates `ref`; return what was added,
    one line per kind."""
    local = {frozenset(b[:2]) for b in bonds if b[4] < 0}
    found = from_coordinates.contact_bonds(st, generated, local)
    if not found:
        return []
    xyz = ref
    names = [(res.name, a.name) for ch in structure[0] for res in ch for a in res]
    nbr: dict = {}
    for b in bonds:
        if b[4] < 0:
            nbr.setdefault(b[0], []).append(b[1])
            nbr.setdefault(b[1], []).append(b[0])
    have_angle = {(min(a[0], a[2]), a[1], max(a[0], a[2])) for a in angles}
    metal_sites, metal_bonds, links = {}, 0, {}
    for cb in found:
        esd = from_coordinates.METAL_ESD if cb.metal else from_coordinates.BOND_ESD
        sym, partner = -1, xyz[cb.j]
        if cb.op is not None:
            sym_ops.append(cb.op)
            sym = len(sym_ops) - 1
            partner = cb.op[:, :3] @ partner + cb.op[:, 3]
        bonds.append((cb.i, cb.j, float(np.linalg.norm(xyz[cb.i] - partner)), esd, sym))
        if cb.metal:
            metal_sites.setdefault(names[cb.ion][0], set()).add(cb.ion)
            metal_bonds += 1
            continue
        ri, rj = names[cb.i][0], names[cb.j][0]
        key = tuple(sorted((ri, rj)))
        links[key] = links.get(key, 0) + 1
        for a, v, c, deg in from_coordinates.contact_angles(cb, nbr, xyz):
            k = (min(a, c), v, max(a, c))
            if k not in have_angle:
                have_angle.add(k)
                angles.append((a, v, c, deg, from_coordinates.ANGLE_ESD))
    out = []
    if metal_sites:
        ions = ", ".join(f"{n} ({len(rows)})" for n, rows in sorted(metal_sites.items()))
        out.append(f"metal ions {ions}: held at their input distances by {metal_bonds} bonds "
                   "to the N, O, S atoms that coordinate them")
    if links:
        pairs = ", ".join(f"{a}-{b} ({k})" for (a, b), k in sorted(links.items()))
        out.append(f"bonds between residues without a library dictionary and their "
                   f"neighbours, restrained at their input lengths: {pairs}")
    return out


def _unique(rows: list, k: int, symmetric: bool = False) -> list:
    """Drop repeated restraints on the same atoms (first kept); bonds carry their sym op."""
    seen, out = set(), []
    for r in rows:
        key = r[:k]
        if symmetric and key[0] > key[-1]:
            key = key[::-1]
        if k == 2:
            key = (min(key), max(key))
        if key in seen:
            continue
        seen.add(key)
        out.append(r)
    return out


def _gemmi_warnings(text: str, metals: bool) -> list:
    """gemmi's topology warnings as lines of ours: without its "Warning: " prefix, and
    without the links to metal ions the library has no entry for when the metal bonds
    hold those sites (the line on metal ions says so)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.lower().startswith("warning:"):
            line = line[len("warning:"):].strip()
        if not line:
            continue
        if metals and line.startswith("link from the monomer library does not match") \
                and any(gemmi.Element(x).is_metal
                        for x in line.rsplit(":", 1)[-1].replace("-", " ").split()):
            continue
        out.append(line)
    return out


def _atom_types(structure, chem_type, ener) -> tuple:
    """Per-atom vdW radius, ion radius, H-bond type and metal flag from ener_lib."""
    elems = [at.element for ch in structure[0] for res in ch for at in res]
    n = len(chem_type)
    vdw = np.full(n, DEFAULT_VDW_RADIUS)
    ion = np.full(n, np.nan)
    hb = np.full(n, "", dtype="U1")
    metal = np.zeros(n, bool)
    for i in range(n):
        el = elems[i]
        metal[i] = el.is_metal
        lib = ener.get(chem_type[i]) if chem_type[i] else None
        if lib is None:
            lib = ener.get(el.name.upper())
        if lib is None:
            continue
        r = lib.vdwh_radius if math.isfinite(lib.vdwh_radius) else lib.vdw_radius
        if math.isfinite(r) and r > 0:
            vdw[i] = min(MAX_VDW_RADIUS, r)
        ion[i] = lib.ion_radius
        hb[i] = lib.hb_type if lib.hb_type not in ("\0", " ") else ""
    return vdw, ion, hb, metal
