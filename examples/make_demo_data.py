"""Make the demo model in examples/: an ideal-geometry helical peptide built by mainpy.

    python examples/make_demo_data.py

The model is the project's own (no deposited structure): an alpha helix of 24 residues
built from Engh & Huber geometry, side chains from the monomer dictionary's ideal
coordinates, in a P 21 21 21 cell. Deterministic: running it again gives the same file.
"""

from pathlib import Path

import gemmi

from mainpy.model.build import peptide

SEQUENCE = ("MET ALA GLU LEU LYS ALA LYS LEU GLU ALA LEU GLU ALA LYS LEU ALA "
            "ALA LEU GLU LYS LYS LEU ALA GLY").split()

HERE = Path(__file__).resolve().parent


def main():
    dictionary = Path(__file__).resolve().parent.parent / "mainpy" / "restraints" / "dictionary"
    monlib = gemmi.read_monomer_lib(str(dictionary), sorted(set(SEQUENCE)))
    st = peptide(SEQUENCE, monlib)
    # centre in a cell that leaves room for solvent
    ctr = st[0].calculate_center_of_mass()
    cell = gemmi.UnitCell(32.0, 38.0, 52.0, 90, 90, 90)
    shift = gemmi.Position(cell.a / 4, cell.b / 4, cell.c / 4) - ctr
    for res in st[0][0]:
        for at in res:
            at.pos += shift
    st.cell = cell
    st.spacegroup_hm = "P 21 21 21"
    st.setup_cell_images()
    doc_path = HERE / "demo_model.pdb"
    st.write_pdb(str(doc_path))
    print(f"wrote {doc_path.name}: {st[0].count_atom_sites()} atoms")


if __name__ == "__main__":
    main()
