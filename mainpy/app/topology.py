"""The model's restraints: monomer library, topology, restraint energy (DEFINE, READ MONO)."""

from __future__ import annotations


def load_library(session):
    """The monomer library for the model's residue names, with dictionaries made from the
    model for the residues it lacks (read once per model: dictionaries made from another
    model are not reused)."""
    from mainpy.restraints.monlib import load_monlib, with_generated
    names = set(session.atoms.resname.tolist())
    lib = session.library
    if (lib is None or (lib.generated and lib.source is not session.model)
            or not names <= set(lib.monlib.monomers) | set(lib.missing)):
        lib = load_monlib(sorted(names), session.monlib_path, session.extra_cifs)
    if lib.missing:
        lib = with_generated(lib, session.model.synced_structure(), source=session.model)
    return lib


def define_topology(session) -> tuple[str, list[str]]:
    """Build the restraints of the whole model from the monomer library and the restraint
    energy on them; returns (what was built, the library's and topology's messages)."""
    from mainpy.restraints.energy import Energy
    from mainpy.restraints.monlib import builtin_dir
    from mainpy.restraints.topology import build_restraints
    model = session.need_model()
    lib = load_library(session)
    r = build_restraints(model.synced_structure(), lib, torsions="refmac")
    energy = Energy(r, model.atoms, model.cell, model.spacegroup)
    from mainpy.restraints.ncs import build as build_ncs
    energy.ncs = build_ncs(model.atoms)
    session.library, session.restraints, session.energy = lib, r, energy
    c = r.counts()
    where = ("mainpy's built-in dictionary (Engh & Huber 2001)"
             if lib.path.resolve() == builtin_dir().resolve() else str(lib.path))
    what = (f" topology from {where}: {c['bond']} bonds, {c['angle']} angles, "
            f"{c['torsion']} torsions, {c['chiral']} chiral volumes, {c['plane']} planes")
    if energy.ncs is not None:
        copies = "; ".join(f"{a} ~ {b} ({n} atoms)" for (a, b), n in energy.ncs.groups)
        on = session.ener.get("ncs", {}).get("on", False)
        what += (f"\n NCS: copies {copies}: {len(energy.ncs)} local distances "
                 + ("restrained (ener ncs off leaves the copies free)" if on else
                    "found, not restrained (ener ncs on restrains them)"))
    return what, list(dict.fromkeys(lib.messages + r.messages))


def write_generated(session, name: str, path: str) -> str:
    """WRITE MONO: the dictionary made for residue `name` (DEFINE ... BY TOPO made it), to
    edit and read back with READ MONO; returns what was written."""
    from mainpy.errors import ScienceError
    from mainpy.fileio import atomic_write
    lib = session.library
    name = name.upper()
    if lib is None or name not in lib.generated:
        have = ", ".join(sorted(lib.generated)) if lib is not None and lib.generated else ""
        raise ScienceError(f"no dictionary was made for {name}: DEFINE ... BY TOPO makes "
                           "them for residues without one"
                           + (f" (made here: {have})" if have else ""))
    text, how = lib.generated[name]

    def write(tmp):
        with open(tmp, "w") as f:
            f.write(text)

    atomic_write(path, write)
    return f" dictionary of {name} ({how}) written to {path}"


def use_monomers(session, path: str) -> str:
    """READ MONO: a library folder, or one more monomer CIF; returns what was taken."""
    from pathlib import Path

    from mainpy.restraints.monlib import find_monlib_dir
    p = Path(session.input_path(path))
    if p.is_file():
        session.extra_cifs = session.extra_cifs + [str(p)]
        what = f" dictionary {p} added"
    else:
        root = find_monlib_dir(p)
        session.monlib_path = str(root)
        what = f" monomer library {root}"
    session.library = None
    return what + " (DEFINE ... BY TOPO uses it)"
