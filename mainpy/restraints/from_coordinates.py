"""Restraint dictionaries made from the model's own coordinates, for residues that have none.

A residue without a dictionary would get no restraints and come apart in refinement. Its
dictionary is made from the model: the instances of the residue type are read, the most
complete first (altloc A where there are conformers; hydrogens if the model has them), and

- bonds join atoms closer than the sum of their covalent radii + COVALENT_TOLERANCE
  (a hydrogen only to its nearest heavy atom);
- angles: every bonded triple;
- planes: rings of 5-6 atoms, and atoms with three neighbours, whose atoms lie within
  PLANAR_DEVIATION of their plane; groups that share a bond are merged while the union
  stays planar (aromatic systems with their substituents, carboxylates, amides);
- chiral volumes at atoms with three or more heavy neighbours that are out of their plane
  in some instance (|volume| > CHIRAL_MIN_VOLUME), stereocentres or not (an sp3 atom
  cannot change hand without going flat either); "both" where instances differ, as
  equivalent atoms' names may swap between them.

Ideal values are the most complete instance's (an atom it lacks comes from the next
instance that has it); in refinement each instance is restrained to its own input values
(topology.build_restraints). The esds: bonds 0.01 A, the tighter end of the library's
(the input is a refined model's geometry; at 0.02 A, the esd gemmi and Refmac give
unknown ligands, 1ehz's modified nucleotides stretched by up to 0.07 A under the
shipped macro, at 0.01 A by 0.03), angles 3 degrees and CCP4's planes 0.02 A: loose
enough for the data to correct a poor input. The group makes gemmi link a modified
nucleotide (RNA; DNA without O2') or amino acid (peptide; P-peptide with its N in a
ring, M-peptide for an N-methyl) to its
neighbours like the standard ones. Energy types (for the vdW radii and H-bond roles of
ener_lib) and a Kekule structure (for AceDRG) come from the same geometry.

The dictionary is written as a CCP4 monomer CIF, which gemmi's MonLib reads like any
other. `contact_bonds` finds what no dictionary or link covers: covalent bonds from these
residues to other residues, and metal ions to the N, O, S and halogen atoms around them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import gemmi
import numpy as np

#: A added to the sum of covalent radii (gemmi's, Cordero 2008): C-C up to 1.96 A
COVALENT_TOLERANCE = 0.5
#: A, largest deviation from the least-squares plane of a planar group
PLANAR_DEVIATION = 0.05
#: A^3, smallest |chiral volume| of a restrained centre (tetrahedral carbon: about 2.5)
CHIRAL_MIN_VOLUME = 1.0
BOND_ESD = 0.01
ANGLE_ESD = 3.0
PLANE_ESD = 0.02
#: A, esd of a metal ion's bond to a coordinating atom (metal-ligand distances spread more)
METAL_ESD = 0.05
#: elements that coordinate metal ions
DONORS = {"N", "O", "S", "Se", "F", "Cl", "Br", "I"}

NUCLEOTIDE = {"O5'", "C5'", "C4'", "O4'", "C3'", "O3'", "C1'"}
PEPTIDE = {"N", "CA", "C", "O"}


@dataclass
class Dictionary:
    """A generated monomer dictionary: atoms, restraints on atom names, group."""

    name: str
    group: str
    atoms: list = field(default_factory=list)     # (name, element, energy type, xyz)
    bonds: list = field(default_factory=list)     # (a, b, type, length)
    angles: list = field(default_factory=list)    # (a, b, c, degrees), b the vertex
    planes: list = field(default_factory=list)    # (label, [atom names])
    chirals: list = field(default_factory=list)   # (centre, a, b, c, +1, -1 or 0: both)

    def cif(self) -> str:
        """The CCP4 monomer CIF (comp_list and comp_NAME blocks)."""
        return _cif_text(self)


# --------------------------------------------------------------------- one residue

def _conformer(res: gemmi.Residue) -> dict:
    """name -> (element, xyz) of one conformer: no altloc or the first altloc, then atoms
    only other conformers have."""
    first = next((a.altloc for a in res if a.altloc != "\0"), "\0")
    out = {}
    for keep_first in (True, False):
        for a in res:
            if a.name in out or (keep_first and a.altloc not in ("\0", first)):
                continue
            el = a.element
            if el.name == "D":
                el = gemmi.Element("H")
            out[a.name] = (el, np.array(a.pos.tolist()))
    return out


def _bonded_pairs(atoms: dict) -> list:
    """Pairs of names within covalent distance; each hydrogen to its nearest heavy atom."""
    names = list(atoms)
    heavy = [n for n in names if not atoms[n][0].is_hydrogen]
    pairs = []
    for a, b in itertools.combinations(heavy, 2):
        (ea, xa), (eb, xb) = atoms[a], atoms[b]
        if np.linalg.norm(xa - xb) < ea.covalent_r + eb.covalent_r + COVALENT_TOLERANCE:
            pairs.append((a, b))
    for h in names:
        eh, xh = atoms[h]
        if not eh.is_hydrogen or not heavy:
            continue
        d = [np.linalg.norm(xh - atoms[n][1]) for n in heavy]
        k = int(np.argmin(d))
        if d[k] < eh.covalent_r + atoms[heavy[k]][0].covalent_r + COVALENT_TOLERANCE:
            pairs.append((heavy[k], h))
    return pairs


def plane_deviation(xyz: np.ndarray) -> float:
    """Largest distance (A) of the points from their least-squares plane."""
    c = xyz - xyz.mean(axis=0)
    normal = np.linalg.svd(c)[2][-1]
    return float(np.abs(c @ normal).max())


def chiral_volume(c, a, b, d) -> float:
    """(a - c) . ((b - c) x (d - c)), the CCP4 chiral volume."""
    return float(np.dot(a - c, np.cross(b - c, d - c)))


def _rings(nbr: dict) -> list:
    """The smallest ring of 3-6 atoms through each bond, as frozensets."""
    rings = set()
    for u in nbr:
        for v in nbr[u]:
            if u > v:
                continue
            prev = {u: None}
            frontier = [u]
            found = None
            for _ in range(5):
                nxt = []
                for x in frontier:
                    for y in nbr[x]:
                        if (x == u and y == v) or y in prev:
                            continue
                        prev[y] = x
                        nxt.append(y)
                if v in prev:
                    found = v
                    break
                frontier = nxt
            if found is not None:
                path, x = [], v
                while x is not None:
                    path.append(x)
                    x = prev[x]
                if 3 <= len(path) <= 6:
                    rings.add(frozenset(path))
    return sorted(rings, key=lambda r: (len(r), sorted(r)))


def _planes(atoms: dict, nbr: dict) -> list:
    """Planar groups (sets of >= 4 names): planar rings with the substituents in their
    plane, atoms with three coplanar neighbours, merged while they share a bond and stay
    planar."""
    xyz = {n: atoms[n][1] for n in atoms}

    def flat(group) -> bool:
        return plane_deviation(np.array([xyz[n] for n in sorted(group)])) < PLANAR_DEVIATION

    groups = []
    for ring in _rings(nbr):
        if len(ring) >= 5 and flat(ring):
            g = set(ring)
            subst = sorted({s for r in ring for s in nbr[r]} - g,
                           key=lambda s: (atoms[s][0].is_hydrogen, s))
            for s in subst:
                if flat(g | {s}):
                    g.add(s)
            groups.append(g)
    for n in atoms:
        if len(nbr[n]) == 3 and flat({n, *nbr[n]}):
            groups.append({n, *nbr[n]})
    merged = True
    while merged:
        merged = False
        for i, j in itertools.combinations(range(len(groups)), 2):
            gi, gj = groups[i], groups[j]
            if gj <= gi or gi <= gj or (len(gi & gj) >= 2 and flat(gi | gj)):
                groups[i] = gi | gj
                del groups[j]
                merged = True
                break
    return [g for g in groups if len(g) >= 4]


def _energy_type(name: str, atoms: dict, nbr: dict, ring_size: dict, planar: set,
                 with_h: bool) -> str:
    """A CCP4 energy type (ener_lib) from the element, neighbours and planarity; without
    hydrogens in the model their number is what the valence leaves (a ring N with two
    neighbours carries one when its ring angle is wide: 121+ degrees in a 6-ring, 106.5+
    in a 5-ring, as in guanine N1 or uracil N3, against 116 and 104 without)."""
    el, xyz = atoms[name]
    sym = el.name.upper()
    heavy = [n for n in nbr[name] if not atoms[n][0].is_hydrogen]
    if el.is_hydrogen:
        host = atoms[nbr[name][0]][0].name.upper() if nbr[name] else ""
        return {"O": "HOH1", "N": "HNH1", "S": "HSH1", "C": "HCH"}.get(host, "H")
    explicit = len(nbr[name]) - len(heavy)
    ring = ring_size.get(name, 0)
    sp2 = name in planar

    def n_h(valence):
        return explicit if with_h else max(0, valence - len(heavy))

    if sym == "C":
        if sp2:
            h = n_h(3)
            if ring in (5, 6):
                return f"CR{'1' if h else ''}{ring}"
            return {0: "C", 1: "C1"}.get(h, "C2")
        return {0: "CT", 1: "CH1", 2: "CH2"}.get(n_h(4), "CH3")
    if sym == "N":
        if sp2 and ring in (5, 6):
            if len(heavy) >= 3:
                return f"NR{ring}"
            if with_h:
                return f"NR1{ring}" if explicit else f"NRD{ring}"
            a, b = heavy[:2]
            u, v = atoms[a][1] - xyz, atoms[b][1] - xyz
            ang = np.degrees(np.arccos(np.dot(u, v) / np.linalg.norm(u) / np.linalg.norm(v)))
            wide = ang > (121.0 if ring == 6 else 106.5)
            return f"NR1{ring}" if wide else f"NRD{ring}"
        if sp2:
            return {0: "N", 1: "NH1"}.get(n_h(3), "NH2")
        return {0: "NT", 1: "NT1", 2: "NT2"}.get(n_h(3), "NT3")
    if sym == "O":
        if len(heavy) >= 2:
            return "O2"
        if not heavy:
            return "OH2"
        host = heavy[0]
        if atoms[host][0].name == "P":
            return "OP"
        terminal_o = [o for o in nbr[host] if atoms[o][0].name == "O"
                      and len([m for m in nbr[o] if not atoms[m][0].is_hydrogen]) == 1]
        if atoms[host][0].name == "C" and len(terminal_o) == 2 and host in planar:
            return "OC"
        d = np.linalg.norm(xyz - atoms[host][1])
        return "O" if d < 1.30 and not explicit else "OH1"
    if sym == "S":
        return "SH1" if n_h(2) and len(heavy) == 1 else "S2" if len(heavy) == 2 else "S"
    return sym


#: bonds shorter than this (A) between these elements look double
DOUBLE_BELOW = {"CC": 1.40, "CO": 1.28, "CN": 1.33, "NN": 1.30, "NO": 1.26, "OP": 1.55}
#: energy types that carry one double bond (sp2 C, ring N without H, C=O, P=O)
NEEDS_DOUBLE = {"C", "C1", "C2", "CR5", "CR6", "CR15", "CR16", "NRD5", "NRD6", "O", "OC",
                "OP", "P"}


def _looks_double(a: str, b: str, length: float, atoms: dict) -> bool:
    pair = "".join(sorted((atoms[a][0].name, atoms[b][0].name)))
    return length < DOUBLE_BELOW.get(pair, 0.0)


def _bond_orders(values: dict, types: dict, nbr: dict, search_limit: int = 20000) -> dict:
    """single/double for each bond: a Kekule structure in which each atom whose type
    carries a double bond (an sp2 N with two neighbours too) gets one, as many as can
    (shorter bonds tried first; the search is cut after `search_limit` steps)."""
    needy = {n for n, t in types.items()
             if t in NEEDS_DOUBLE or (t == "N" and len(nbr[n]) == 2)}
    edges = {n: [] for n in needy}
    for key, (a, b, length) in values.items():
        if a in needy and b in needy:
            edges[a].append((length, b))
            edges[b].append((length, a))
    for n in edges:
        edges[n].sort()
    order = sorted(needy, key=lambda n: (len(edges[n]), n))
    best = [set(), -1]
    budget = [search_limit]

    def search(k, used, pairs):
        budget[0] -= 1
        if len(pairs) > best[1]:
            best[0], best[1] = set(pairs), len(pairs)
        if k == len(order) or budget[0] < 0:
            return
        if len(pairs) + (len(order) - k) // 2 + 1 <= best[1]:
            return
        n = order[k]
        if n not in used:
            for _, m in edges[n]:
                if m not in used:
                    search(k + 1, used | {n, m}, pairs + [frozenset((n, m))])
        search(k + 1, used, pairs)

    search(0, frozenset(), [])
    return {key: "double" if key in best[0] else "single" for key in values}


def polymer_group(atoms: dict, nbr: dict, sp2: set) -> str:
    """The CCP4 group of a residue (gemmi's polymer links follow from it): RNA or DNA for a
    nucleotide (the sugar-phosphate atoms, bonded so, and a planar base on C1'), peptide
    for an amino acid (N-CA-C=O), else non-polymer."""
    def bonded(*pairs):
        return all(y in nbr.get(x, ()) for x, y in pairs)

    names = set(atoms)
    if NUCLEOTIDE <= names and bonded(("C1'", "O4'"), ("C4'", "O4'"), ("C3'", "O3'"),
                                      ("C4'", "C5'"), ("C5'", "O5'")):
        if any(n in sp2 for n in nbr["C1'"]):
            return "RNA" if "O2'" in names else "DNA"
    if PEPTIDE <= names and bonded(("N", "CA"), ("CA", "C"), ("C", "O")) and \
            [atoms[n][0].name for n in ("N", "CA", "C", "O")] == ["N", "C", "C", "O"]:
        return "peptide"
    return "non-polymer"


def _peptide_kind(atoms: dict, nbr: dict, rings: list) -> str:
    """peptide, or P-peptide (N in a ring, as proline), or M-peptide (N-methyl)."""
    others = [n for n in nbr.get("N", ()) if n != "CA" and not atoms[n][0].is_hydrogen]
    if not others:
        return "peptide"
    if any("N" in r and "CA" in r for r in rings):
        return "P-peptide"
    return "M-peptide"


def dictionary_from_residues(name: str, residues) -> Dictionary:
    """The dictionary of residue type `name` from its instances (gemmi Residues), the
    instance with most atoms first; atoms missing from it come from the next ones."""
    confs = sorted((_conformer(r) for r in residues), key=len, reverse=True)
    if not confs or not confs[0]:
        raise ValueError(f"residue {name} has no atoms to make a dictionary from")
    atoms = {}
    for conf in confs:
        for n, v in conf.items():
            atoms.setdefault(n, v)
    with_h = any(el.is_hydrogen for el, _ in atoms.values())
    # bonds: from each instance, the values from the most complete one that has them
    values = {}
    for conf in confs:
        for a, b in _bonded_pairs(conf):
            key = frozenset((a, b))
            if key not in values:
                values[key] = (a, b, float(np.linalg.norm(conf[a][1] - conf[b][1])))
    nbr = {n: [] for n in atoms}
    for a, b, _ in values.values():
        nbr[a].append(b)
        nbr[b].append(a)
    rings = _rings(nbr)
    order = {n: i for i, n in enumerate(atoms)}
    for n in nbr:
        nbr[n].sort(key=order.get)

    def conf_with(names):
        return next((c for c in confs if all(n in c for n in names)), None)

    angles = []
    for b in atoms:
        for a, c in itertools.combinations(nbr[b], 2):
            conf = conf_with((a, b, c))
            if conf is None:
                continue
            u, v = conf[a][1] - conf[b][1], conf[c][1] - conf[b][1]
            cos = np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v))
            angles.append((a, b, c, float(np.degrees(np.arccos(np.clip(cos, -1, 1))))))
    planes = []
    for conf in confs:
        sub = {n: [m for m in nbr[n] if m in conf] for n in conf}
        for g in _planes(conf, sub):
            if not any(g <= set(p) for _, p in planes):
                planes = [(lab, p) for lab, p in planes if not set(p) <= g]
                planes.append(("", sorted(g, key=order.get)))
    planes = [(f"plan-{k + 1}", p) for k, (_, p) in enumerate(planes)]
    ring_size = {}
    for r in rings:
        for n in r:
            ring_size.setdefault(n, len(r))
    planar_rings = [r for r in rings if len(r) >= 5 and any(r <= set(p) for _, p in planes)]
    centres = set()                  # sp2 atoms: three neighbours in one plane with them
    for _, p in planes:
        centres |= {n for n in p if len(nbr[n]) == 3 and all(m in p for m in nbr[n])}
    sp2 = centres | {n for r in planar_rings for n in r}
    sp2 |= {n for a, b, v in values.values() if _looks_double(a, b, v, atoms) for n in (a, b)}
    sp2 |= {n for n in atoms if atoms[n][0].name == "N" and len(nbr[n]) <= 3
            and any(m in sp2 for m in nbr[n])}            # amide and aniline N: conjugated
    types = {n: _energy_type(n, atoms, nbr, ring_size, sp2, with_h) for n in atoms}
    btype = _bond_orders(values, types, nbr)
    chirals = []
    for c in atoms:
        heavy = [n for n in nbr[c] if not atoms[n][0].is_hydrogen]
        if len(heavy) < 3 or c in centres:
            continue
        four = (c, *heavy[:3])
        vols = [chiral_volume(*(conf[n][1] for n in four)) for conf in confs
                if all(n in conf for n in four)]
        signs = {int(np.sign(v)) for v in vols if abs(v) > CHIRAL_MIN_VOLUME}
        if signs:
            chirals.append((*four, signs.pop() if len(signs) == 1 else 0))
    group = polymer_group(atoms, nbr, sp2)
    if group == "peptide":
        group = _peptide_kind(atoms, nbr, rings)
    d = Dictionary(name=name, group=group)
    d.atoms = [(n, el.name, types[n], xyz) for n, (el, xyz) in atoms.items()]
    bonds = sorted(values.values(), key=lambda t: (order[t[0]], order[t[1]]))
    d.bonds = [(a, b, btype[frozenset((a, b))], v) for a, b, v in bonds]
    d.angles = angles
    d.planes = planes
    d.chirals = chirals
    return d


def dictionaries_for(structure: gemmi.Structure, names) -> dict:
    """name -> Dictionary for each residue name, from model 0 of the structure."""
    found = {n: [] for n in names}
    for ch in structure[0]:
        for res in ch:
            if res.name in found:
                found[res.name].append(res)
    return {n: dictionary_from_residues(n, rs) for n, rs in found.items() if rs}


# --------------------------------------------------------------------- CIF

def _q(s) -> str:
    return gemmi.cif.quote(str(s))


def _cif_text(d: Dictionary) -> str:
    n_h = sum(1 for a in d.atoms if a[1] in ("H", "D"))
    out = ["# made by mainpy from the model's coordinates (values of its most complete instance;",
           "# read back with READ MONO, this file is a library dictionary for every instance)",
           "data_comp_list", "loop_", "_chem_comp.id", "_chem_comp.three_letter_code",
           "_chem_comp.name", "_chem_comp.group", "_chem_comp.number_atoms_all",
           "_chem_comp.number_atoms_nh", "_chem_comp.desc_level",
           f"{_q(d.name)} {_q(d.name)} {_q(d.name + ' from the input coordinates')} "
           f"{d.group} {len(d.atoms)} {len(d.atoms) - n_h} .", "",
           f"data_comp_{d.name}", "loop_", "_chem_comp_atom.comp_id",
           "_chem_comp_atom.atom_id", "_chem_comp_atom.type_symbol",
           "_chem_comp_atom.type_energy", "_chem_comp_atom.charge", "_chem_comp_atom.x",
           "_chem_comp_atom.y", "_chem_comp_atom.z"]
    for name, el, etype, xyz in d.atoms:
        out.append(f"{_q(d.name)} {_q(name)} {el.upper()} {etype} 0 "
                   f"{xyz[0]:.3f} {xyz[1]:.3f} {xyz[2]:.3f}")
    if d.bonds:
        out += ["", "loop_", "_chem_comp_bond.comp_id", "_chem_comp_bond.atom_id_1",
                "_chem_comp_bond.atom_id_2", "_chem_comp_bond.type",
                "_chem_comp_bond.value_dist", "_chem_comp_bond.value_dist_esd"]
        out += [f"{_q(d.name)} {_q(a)} {_q(b)} {t} {v:.3f} {BOND_ESD}"
                for a, b, t, v in d.bonds]
    if d.angles:
        out += ["", "loop_", "_chem_comp_angle.comp_id", "_chem_comp_angle.atom_id_1",
                "_chem_comp_angle.atom_id_2", "_chem_comp_angle.atom_id_3",
                "_chem_comp_angle.value_angle", "_chem_comp_angle.value_angle_esd"]
        out += [f"{_q(d.name)} {_q(a)} {_q(b)} {_q(c)} {v:.2f} {ANGLE_ESD}"
                for a, b, c, v in d.angles]
    if d.chirals:
        out += ["", "loop_", "_chem_comp_chir.comp_id", "_chem_comp_chir.id",
                "_chem_comp_chir.atom_id_centre", "_chem_comp_chir.atom_id_1",
                "_chem_comp_chir.atom_id_2", "_chem_comp_chir.atom_id_3",
                "_chem_comp_chir.volume_sign"]
        out += [f"{_q(d.name)} chir_{k + 1} {_q(c)} {_q(a)} {_q(b)} {_q(e)} "
                f"{'positiv' if s > 0 else 'negativ' if s < 0 else 'both'}"
                for k, (c, a, b, e, s) in enumerate(d.chirals)]
    if d.planes:
        out += ["", "loop_", "_chem_comp_plane_atom.comp_id", "_chem_comp_plane_atom.plane_id",
                "_chem_comp_plane_atom.atom_id", "_chem_comp_plane_atom.dist_esd"]
        out += [f"{_q(d.name)} {label} {_q(a)} {PLANE_ESD}"
                for label, atoms in d.planes for a in atoms]
    return "\n".join(out) + "\n"


def read_into(monlib: gemmi.MonLib, text: str, name: str = "", group: str = "") -> None:
    """Read a monomer CIF given as text into the MonLib; with `group`, residue `name` gets
    it (gemmi keeps a group the library's list gives the name, as it does PRX's
    NON-POLYMER, and the group decides the links)."""
    monlib.read_monomer_doc(gemmi.cif.read_string(text))
    if group:
        monlib.monomers[name].set_group(group)


# --------------------------------------------------------------------- between residues

def image_op(cell: gemmi.UnitCell, im) -> np.ndarray:
    """Orthogonal [R | t] (3, 4) of a gemmi NearestImage (symmetry op + lattice shift)."""
    ft = gemmi.FTransform() if im.sym_idx == 0 else cell.images[im.sym_idx - 1]
    rf = np.array(ft.mat.tolist())
    tf = np.array(ft.vec.tolist()) + np.array(im.pbc_shift, dtype=float)
    orth = np.array(cell.orth.mat.tolist())
    frac = np.array(cell.frac.mat.tolist())
    op = np.empty((3, 4))
    op[:, :3] = orth @ rf @ frac
    op[:, 3] = orth @ tf
    return op


@dataclass
class ContactBond:
    """A bond found by distance: atom rows i, j, its length, the orthogonal [R | t] that
    takes atom j to its partner (None: the same asymmetric unit), the row of the metal ion
    in it (-1: none)."""

    i: int
    j: int
    length: float
    op: np.ndarray | None
    ion: int = -1

    @property
    def metal(self) -> bool:
        return self.ion >= 0


def _row(atom) -> int:
    return round(atom.fraction) - 1


def is_ion(res: gemmi.Residue) -> bool:
    """A residue of one metal atom (in one or more conformers): an ion."""
    return len(res) >= 1 and len({a.name for a in res}) == 1 and res[0].element.is_metal


def _canonical(i: int, j: int, op) -> tuple:
    """The bond (i, j, op on j) written with i < j (op inverted on swapping), and its key."""
    if i > j:
        i, j = j, i
        if op is not None:
            rt = op[:, :3].T
            op = np.concatenate([rt, -(rt @ op[:, 3])[:, None]], axis=1)
    key = (i, j, None if op is None else tuple(np.round(op, 2).ravel()))
    return i, j, op, key


def same_conformer(a: gemmi.Atom, b: gemmi.Atom) -> bool:
    """Whether two atoms can be bonded: one without altloc, or both of the same one."""
    return a.altloc == "\0" or b.altloc == "\0" or a.altloc == b.altloc


def _covalent_image(st: gemmi.Structure, a: gemmi.Atom, b: gemmi.Atom, mark):
    """The nearest image of b (a NeighborSearch mark near a) when it is within covalent
    distance of a (the sum of their radii + COVALENT_TOLERANCE), else None."""
    im = st.cell.find_nearest_pbc_image(a.pos, b.pos, mark.image_idx)
    cut = a.element.covalent_r + b.element.covalent_r + COVALENT_TOLERANCE
    return im if im.dist() < cut else None


def contact_bonds(st: gemmi.Structure, generated, bonded) -> list:
    """Covalent bonds no dictionary or link covers, found by distance in model 0 of `st`
    (a clone whose Atom.fraction holds row + 1), symmetry images included:

    - from an atom of a residue named in `generated` to an atom of another residue
      (hydrogens and metal atoms left out), within covalent distance;
    - from a metal ion (a one-atom residue) to an N, O, S or halogen atom within covalent
      distance.

    `bonded` holds frozensets of rows already joined by a restraint: left out."""
    model = st[0]
    ns = gemmi.NeighborSearch(model, st.cell, 5.0).populate(include_h=False)
    found = {}
    for ch in model:
        for res in ch:
            ion = is_ion(res)
            if not ion and res.name not in generated:
                continue
            for a in res:
                if a.is_hydrogen() or (a.element.is_metal and not ion):
                    continue
                i = _row(a)
                for mark in ns.find_neighbors(a, min_dist=0.1, max_dist=3.5):
                    cra = mark.to_cra(model)
                    b = cra.atom
                    if b.is_hydrogen():
                        continue
                    if not same_conformer(a, b):
                        continue
                    partner_ion = is_ion(cra.residue)
                    if ion or partner_ion:
                        if ion and partner_ion:
                            continue
                        if (b if ion else a).element.name not in DONORS:
                            continue
                    elif b.element.is_metal:
                        continue
                    im = _covalent_image(st, a, b, mark)
                    if im is None:
                        continue
                    d = im.dist()
                    j = _row(b)
                    same = im.sym_idx == 0 and tuple(im.pbc_shift) == (0, 0, 0)
                    if same and (cra.residue.seqid == res.seqid and cra.chain.name == ch.name
                                 or frozenset((i, j)) in bonded):
                        continue
                    i2, j2, op, key = _canonical(i, j, None if same else image_op(st.cell, im))
                    if key not in found:
                        found[key] = ContactBond(i2, j2, d, op,
                                                 i if ion else j if partner_ion else -1)
    return list(found.values())


#: ions whose hydroxyl ligands (Ser, Thr, Tyr OH, ...) keep their hydrogen: alkali and
#: alkaline-earth metals take the oxygen's lone pair; the others bind the ligand's anion
HARD_IONS = {"Li", "Na", "K", "Rb", "Cs", "Be", "Mg", "Ca", "Sr", "Ba"}


def metal_ligands(st: gemmi.Structure) -> dict:
    """The N, O, S, ... atoms of model 0 within covalent distance of a metal ion (a
    one-atom residue; symmetry images included), as {(chain, seqid, atom name, altloc):
    the ion's element symbol}: the atoms that coordinate it."""
    model = st[0]
    ns = gemmi.NeighborSearch(model, st.cell, 5.0).populate(include_h=False)
    out = {}
    for ch in model:
        for res in ch:
            if not is_ion(res):
                continue
            for ion in res:
                for mark in ns.find_neighbors(ion, min_dist=0.1, max_dist=3.5):
                    cra = mark.to_cra(model)
                    b = cra.atom
                    if b.element.name not in DONORS or is_ion(cra.residue) \
                            or not same_conformer(ion, b):
                        continue
                    if _covalent_image(st, ion, b, mark) is not None:
                        out[(cra.chain.name, str(cra.residue.seqid), b.name, b.altloc)] = \
                            ion.element.name
    return out


def deprotonated_by_metal(parent: gemmi.Atom, ion: str) -> bool:
    """Whether a hydrogen on ``parent`` goes where ``parent`` coordinates a metal ion of
    element ``ion``: His N, Cys S, ... always; a hydroxyl O not for the ions of HARD_IONS."""
    return not (parent.element.name == "O" and ion in HARD_IONS)


def contact_angles(bond: ContactBond, nbr: dict, xyz: np.ndarray) -> list:
    """(a, b, c, degrees) at both ends of a same-ASU contact bond, from the input."""
    out = []
    if bond.op is not None:
        return out
    for end, other in ((bond.i, bond.j), (bond.j, bond.i)):
        for x in nbr.get(end, ()):
            if x == other:
                continue
            u, v = xyz[x] - xyz[end], xyz[other] - xyz[end]
            cos = np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v))
            out.append((x, end, other, float(np.degrees(np.arccos(np.clip(cos, -1, 1))))))
    return out
