#!/usr/bin/env python
"""Write mainpy's built-in restraint dictionary (CCP4 monomer-library format).

The dictionary covers the 20 standard amino acids, MSE (selenomethionine) and
HOH, the peptide links (TRANS, CIS, PTRANS, PCIS), the disulfide link and the
modifications those links use.  Bond lengths and angles (with their standard
deviations) are the published values of

    R. A. Engh & R. Huber (2001).  Structure quality and target parameters.
    International Tables for Crystallography, Vol. F, ch. 18.3, pp. 382-392.

typed in below as Python tables.  Torsions, chiral-volume signs and planes, for
which that chapter gives no numbers, follow the usual conventions of restraint
dictionaries (CCP4 sign conventions for chiral volumes).  Ideal Cartesian
coordinates are adjusted by least squares so that they reproduce every bond and
angle target and planarity, starting from the monomer's coordinates in the
shipped dictionary (which fix its orientation and free torsions, which the
targets leave open), or, for a new monomer or with --from-scratch, from a build
from the internal coordinates (NeRF).

No hydrogen atoms are included.

Usage (from the project root):

    python tools/make_dictionary.py [output-dir] [--from-scratch]

The default output directory is mainpy/restraints/dictionary.  The output is
deterministic: running the script twice gives identical files, and the
idealisation gives the same coordinates (to 1e-7 A) whatever the BLAS/LAPACK
build or numpy/scipy version (see `idealise`).
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from mainpy.model.build import place  # NeRF placement, shared with the model builder

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "mainpy" / "restraints" / "dictionary"

PLANE_ESD = 0.020

# ---------------------------------------------------------------------------
# Engh & Huber (2001) backbone values, residues in a polypeptide chain.
# (value, esd): bonds in Angstrom, angles in degrees.
# ---------------------------------------------------------------------------

BACKBONE = {
    "general": {"N-CA": (1.459, 0.020), "CA-C": (1.525, 0.026), "C-O": (1.229, 0.019),
                "N-CA-C": (111.0, 2.7), "CA-C-O": (120.1, 2.1)},
    "GLY": {"N-CA": (1.456, 0.015), "CA-C": (1.514, 0.016), "C-O": (1.232, 0.016),
            "N-CA-C": (113.1, 2.5), "CA-C-O": (120.6, 1.8)},
    "PRO": {"N-CA": (1.468, 0.017), "CA-C": (1.524, 0.020), "C-O": (1.228, 0.020),
            "N-CA-C": (112.1, 2.6), "CA-C-O": (120.2, 2.4)},
}

# C-beta by residue class.
CBETA = {
    "general": {"CA-CB": (1.530, 0.020), "N-CA-CB": (110.6, 1.8), "C-CA-CB": (110.4, 2.0)},
    "ALA": {"CA-CB": (1.520, 0.021), "N-CA-CB": (110.1, 1.4), "C-CA-CB": (110.1, 1.5)},
    # Ile, Thr, Val (beta-branched)
    "ITV": {"CA-CB": (1.540, 0.027), "N-CA-CB": (111.5, 1.7), "C-CA-CB": (109.1, 2.2)},
    "PRO": {"CA-CB": (1.531, 0.020), "N-CA-CB": (103.3, 1.2), "C-CA-CB": (111.7, 2.1)},
}

# Peptide link (E&H 2001; for the proline links the N-side residue is Pro).
PEPTIDE = {"C-N": (1.336, 0.023), "CA-C-N": (117.2, 2.2), "O-C-N": (122.7, 1.6),
           "C-N-CA": (121.7, 2.5)}
PEPTIDE_PRO = {"C-N": (1.338, 0.019), "CA-C-N": (117.1, 2.8), "O-C-N": (121.1, 1.9),
               "C-N-CA": (119.3, 1.5), "C-N-CD": (128.4, 2.1)}
PEPTIDE_CISPRO = dict(PEPTIDE_PRO, **{"C-N-CA": (127.0, 2.4), "C-N-CD": (120.6, 2.2)})

# Disulfide bridge.
DISULFIDE = {"SG-SG": (2.033, 0.016), "CB-SG-SG": (104.2, 2.1)}

# The free amino acid (zwitterion) form of the monomer.  E&H 2001 gives no
# values for the chain termini, so the terminal groups take the E&H values of
# the chemically equivalent side-chain groups: the ammonium N-CA bond from
# Lys CE-NZ and the carboxylate from Glu CD-OE1/OE2.  The link modifications
# (DEL-HN1, DEL-OXT) restore the in-chain values of BACKBONE["general"].
TERMINAL = {"N-CA": (1.486, 0.025),          # Lys CE-NZ
            "C-O": (1.252, 0.011),           # Glu CD-OE1, CD-OE2
            "CA-C-O": (118.3, 2.0),          # Glu CG-CD-OE1, CG-CD-OE2
            "O-C-OXT": (123.3, 1.2)}         # Glu OE1-CD-OE2

# ---------------------------------------------------------------------------
# Side chains.  Each residue:
#   name, backbone class, C-beta class,
#   atoms:  (name, element, energy type, charge)
#   bonds:  (atom1, atom2, value, esd, type)
#   angles: (atom1, atom2, atom3, value, esd)
#   build:  (atom, bonded to, angle atom, torsion atom, torsion) for NeRF
#   tors:   (id, a1, a2, a3, a4, value, esd, period)
#   chir:   (centre, a1, a2, a3)  sign taken from the L-amino-acid coordinates,
#           or 'both' when given as a 5th element
#   planes: lists of atoms (the carboxylate of the free acid is added for all)
# ---------------------------------------------------------------------------

S, D, AR, DL = "single", "double", "aromatic", "deloc"

RESIDUES: dict[str, dict] = {}


def residue(code, name, bb="general", cb="general", atoms=(), bonds=(), angles=(),
            build=(), tors=(), chir=(), planes=()):
    RESIDUES[code] = dict(name=name, bb=bb, cb=cb, atoms=list(atoms), bonds=list(bonds),
                          angles=list(angles), build=list(build), tors=list(tors),
                          chir=list(chir), planes=[list(p) for p in planes])


residue("GLY", "GLYCINE", bb="GLY", cb=None)

residue("ALA", "ALANINE", cb="ALA")

residue("SER", "SERINE",
        atoms=[("OG", "O", "OH1", 0)],
        bonds=[("CB", "OG", 1.417, 0.020, S)],
        angles=[("CA", "CB", "OG", 111.2, 2.7)],
        build=[("OG", "CB", "CA", "N", -60.0)],
        tors=[("chi1", "N", "CA", "CB", "OG", -60.0, 15.0, 3)])

residue("CYS", "CYSTEINE",
        atoms=[("SG", "S", "SH1", 0)],
        bonds=[("CB", "SG", 1.812, 0.016, S)],
        angles=[("CA", "CB", "SG", 114.0, 1.8)],
        build=[("SG", "CB", "CA", "N", -60.0)],
        tors=[("chi1", "N", "CA", "CB", "SG", -60.0, 15.0, 3)])

residue("THR", "THREONINE", cb="ITV",
        atoms=[("OG1", "O", "OH1", 0), ("CG2", "C", "CH3", 0)],
        bonds=[("CB", "OG1", 1.428, 0.020, S), ("CB", "CG2", 1.519, 0.033, S)],
        angles=[("CA", "CB", "OG1", 109.0, 2.1), ("CA", "CB", "CG2", 112.4, 1.4),
                ("OG1", "CB", "CG2", 110.0, 2.3)],
        build=[("OG1", "CB", "CA", "N", -60.0), ("CG2", "CB", "CA", "N", -180.0)],
        tors=[("chi1", "N", "CA", "CB", "OG1", -60.0, 15.0, 3)],
        chir=[("CB", "OG1", "CA", "CG2")])

residue("VAL", "VALINE", cb="ITV",
        atoms=[("CG1", "C", "CH3", 0), ("CG2", "C", "CH3", 0)],
        bonds=[("CB", "CG1", 1.524, 0.021, S), ("CB", "CG2", 1.524, 0.021, S)],
        angles=[("CA", "CB", "CG1", 110.9, 1.5), ("CA", "CB", "CG2", 110.9, 1.5),
                ("CG1", "CB", "CG2", 110.9, 1.6)],
        build=[("CG1", "CB", "CA", "N", 180.0), ("CG2", "CB", "CA", "N", -60.0)],
        tors=[("chi1", "N", "CA", "CB", "CG1", 180.0, 15.0, 3)],
        chir=[("CB", "CA", "CG1", "CG2", "both")])

residue("ILE", "ISOLEUCINE", cb="ITV",
        atoms=[("CG1", "C", "CH2", 0), ("CG2", "C", "CH3", 0), ("CD1", "C", "CH3", 0)],
        bonds=[("CB", "CG1", 1.536, 0.028, S), ("CB", "CG2", 1.524, 0.031, S),
               ("CG1", "CD1", 1.500, 0.069, S)],
        angles=[("CA", "CB", "CG1", 111.0, 1.9), ("CA", "CB", "CG2", 110.9, 2.0),
                ("CG1", "CB", "CG2", 111.4, 2.2), ("CB", "CG1", "CD1", 113.8, 2.1)],
        build=[("CG1", "CB", "CA", "N", -60.0), ("CG2", "CB", "CA", "N", -180.0),
               ("CD1", "CG1", "CB", "CA", 180.0)],
        tors=[("chi1", "N", "CA", "CB", "CG1", -60.0, 15.0, 3),
              ("chi2", "CA", "CB", "CG1", "CD1", 180.0, 15.0, 3)],
        chir=[("CB", "CA", "CG1", "CG2")])

residue("LEU", "LEUCINE",
        atoms=[("CG", "C", "CH1", 0), ("CD1", "C", "CH3", 0), ("CD2", "C", "CH3", 0)],
        bonds=[("CB", "CG", 1.521, 0.029, S), ("CG", "CD1", 1.514, 0.037, S),
               ("CG", "CD2", 1.514, 0.037, S)],
        angles=[("CA", "CB", "CG", 115.3, 2.3), ("CB", "CG", "CD1", 111.0, 1.7),
                ("CB", "CG", "CD2", 111.0, 1.7), ("CD1", "CG", "CD2", 110.5, 1.5)],
        build=[("CG", "CB", "CA", "N", -60.0), ("CD1", "CG", "CB", "CA", 180.0),
               ("CD2", "CG", "CB", "CA", -60.0)],
        tors=[("chi1", "N", "CA", "CB", "CG", -60.0, 15.0, 3),
              ("chi2", "CA", "CB", "CG", "CD1", 180.0, 15.0, 3)],
        chir=[("CG", "CB", "CD1", "CD2", "both")])

residue("MET", "METHIONINE",
        atoms=[("CG", "C", "CH2", 0), ("SD", "S", "S2", 0), ("CE", "C", "CH3", 0)],
        bonds=[("CB", "CG", 1.509, 0.032, S), ("CG", "SD", 1.807, 0.026, S),
               ("SD", "CE", 1.774, 0.056, S)],
        angles=[("CA", "CB", "CG", 113.3, 1.7), ("CB", "CG", "SD", 112.4, 3.0),
                ("CG", "SD", "CE", 100.2, 1.6)],
        build=[("CG", "CB", "CA", "N", -60.0), ("SD", "CG", "CB", "CA", 180.0),
               ("CE", "SD", "CG", "CB", 180.0)],
        tors=[("chi1", "N", "CA", "CB", "CG", -60.0, 15.0, 3),
              ("chi2", "CA", "CB", "CG", "SD", 180.0, 15.0, 3),
              ("chi3", "CB", "CG", "SD", "CE", 180.0, 15.0, 3)])

# Selenomethionine: E&H 2001 has no selenium; the Met values are used for the
# carbon skeleton and typical small-molecule values for C-Se (1.950 A) and
# C-Se-C (98.9 deg).
residue("MSE", "SELENOMETHIONINE",
        atoms=[("CG", "C", "CH2", 0), ("SE", "SE", "SE", 0), ("CE", "C", "CH3", 0)],
        bonds=[("CB", "CG", 1.509, 0.032, S), ("CG", "SE", 1.950, 0.030, S),
               ("SE", "CE", 1.950, 0.030, S)],
        angles=[("CA", "CB", "CG", 113.3, 1.7), ("CB", "CG", "SE", 112.4, 3.0),
                ("CG", "SE", "CE", 98.9, 2.0)],
        build=[("CG", "CB", "CA", "N", -60.0), ("SE", "CG", "CB", "CA", 180.0),
               ("CE", "SE", "CG", "CB", 180.0)],
        tors=[("chi1", "N", "CA", "CB", "CG", -60.0, 15.0, 3),
              ("chi2", "CA", "CB", "CG", "SE", 180.0, 15.0, 3),
              ("chi3", "CB", "CG", "SE", "CE", 180.0, 15.0, 3)])

residue("ASP", "ASPARTIC ACID",
        atoms=[("CG", "C", "C", 0), ("OD1", "O", "OC", 0), ("OD2", "O", "OC", -1)],
        bonds=[("CB", "CG", 1.513, 0.021, S), ("CG", "OD1", 1.249, 0.023, DL),
               ("CG", "OD2", 1.249, 0.023, DL)],
        angles=[("CA", "CB", "CG", 113.4, 2.2), ("CB", "CG", "OD1", 118.3, 0.9),
                ("CB", "CG", "OD2", 118.3, 0.9), ("OD1", "CG", "OD2", 123.3, 1.9)],
        build=[("CG", "CB", "CA", "N", -60.0), ("OD1", "CG", "CB", "CA", -30.0),
               ("OD2", "CG", "CB", "CA", 150.0)],
        tors=[("chi1", "N", "CA", "CB", "CG", -60.0, 15.0, 3),
              ("chi2", "CA", "CB", "CG", "OD1", 0.0, 20.0, 2)],
        planes=[["CB", "CG", "OD1", "OD2"]])

residue("ASN", "ASPARAGINE",
        atoms=[("CG", "C", "C", 0), ("OD1", "O", "O", 0), ("ND2", "N", "NH2", 0)],
        bonds=[("CB", "CG", 1.506, 0.023, S), ("CG", "OD1", 1.235, 0.022, D),
               ("CG", "ND2", 1.324, 0.025, S)],
        angles=[("CA", "CB", "CG", 113.4, 2.2), ("CB", "CG", "OD1", 121.6, 2.0),
                ("CB", "CG", "ND2", 116.7, 2.4), ("OD1", "CG", "ND2", 121.9, 2.3)],
        build=[("CG", "CB", "CA", "N", -60.0), ("OD1", "CG", "CB", "CA", -30.0),
               ("ND2", "CG", "CB", "CA", 150.0)],
        tors=[("chi1", "N", "CA", "CB", "CG", -60.0, 15.0, 3),
              ("chi2", "CA", "CB", "CG", "OD1", 0.0, 20.0, 2)],
        planes=[["CB", "CG", "OD1", "ND2"]])

residue("GLU", "GLUTAMIC ACID",
        atoms=[("CG", "C", "CH2", 0), ("CD", "C", "C", 0), ("OE1", "O", "OC", 0),
               ("OE2", "O", "OC", -1)],
        bonds=[("CB", "CG", 1.517, 0.019, S), ("CG", "CD", 1.515, 0.015, S),
               ("CD", "OE1", 1.252, 0.011, DL), ("CD", "OE2", 1.252, 0.011, DL)],
        angles=[("CA", "CB", "CG", 113.4, 2.2), ("CB", "CG", "CD", 114.2, 2.7),
                ("CG", "CD", "OE1", 118.3, 2.0), ("CG", "CD", "OE2", 118.3, 2.0),
                ("OE1", "CD", "OE2", 123.3, 1.2)],
        build=[("CG", "CB", "CA", "N", -60.0), ("CD", "CG", "CB", "CA", 180.0),
               ("OE1", "CD", "CG", "CB", 0.0), ("OE2", "CD", "CG", "CB", 180.0)],
        tors=[("chi1", "N", "CA", "CB", "CG", -60.0, 15.0, 3),
              ("chi2", "CA", "CB", "CG", "CD", 180.0, 15.0, 3),
              ("chi3", "CB", "CG", "CD", "OE1", 0.0, 20.0, 2)],
        planes=[["CG", "CD", "OE1", "OE2"]])

residue("GLN", "GLUTAMINE",
        atoms=[("CG", "C", "CH2", 0), ("CD", "C", "C", 0), ("OE1", "O", "O", 0),
               ("NE2", "N", "NH2", 0)],
        bonds=[("CB", "CG", 1.521, 0.027, S), ("CG", "CD", 1.506, 0.023, S),
               ("CD", "OE1", 1.235, 0.022, D), ("CD", "NE2", 1.324, 0.025, S)],
        angles=[("CA", "CB", "CG", 113.4, 2.2), ("CB", "CG", "CD", 111.6, 2.6),
                ("CG", "CD", "OE1", 121.6, 2.0), ("CG", "CD", "NE2", 116.7, 2.4),
                ("OE1", "CD", "NE2", 121.9, 2.3)],
        build=[("CG", "CB", "CA", "N", -60.0), ("CD", "CG", "CB", "CA", 180.0),
               ("OE1", "CD", "CG", "CB", 0.0), ("NE2", "CD", "CG", "CB", 180.0)],
        tors=[("chi1", "N", "CA", "CB", "CG", -60.0, 15.0, 3),
              ("chi2", "CA", "CB", "CG", "CD", 180.0, 15.0, 3),
              ("chi3", "CB", "CG", "CD", "OE1", 0.0, 20.0, 2)],
        planes=[["CG", "CD", "OE1", "NE2"]])

residue("LYS", "LYSINE",
        atoms=[("CG", "C", "CH2", 0), ("CD", "C", "CH2", 0), ("CE", "C", "CH2", 0),
               ("NZ", "N", "NT3", 1)],
        bonds=[("CB", "CG", 1.521, 0.027, S), ("CG", "CD", 1.520, 0.034, S),
               ("CD", "CE", 1.508, 0.025, S), ("CE", "NZ", 1.486, 0.025, S)],
        angles=[("CA", "CB", "CG", 113.4, 2.2), ("CB", "CG", "CD", 111.6, 2.6),
                ("CG", "CD", "CE", 111.9, 3.0), ("CD", "CE", "NZ", 111.7, 2.3)],
        build=[("CG", "CB", "CA", "N", -60.0), ("CD", "CG", "CB", "CA", 180.0),
               ("CE", "CD", "CG", "CB", 180.0), ("NZ", "CE", "CD", "CG", 180.0)],
        tors=[("chi1", "N", "CA", "CB", "CG", -60.0, 15.0, 3),
              ("chi2", "CA", "CB", "CG", "CD", 180.0, 15.0, 3),
              ("chi3", "CB", "CG", "CD", "CE", 180.0, 15.0, 3),
              ("chi4", "CG", "CD", "CE", "NZ", 180.0, 15.0, 3)])

residue("ARG", "ARGININE",
        atoms=[("CG", "C", "CH2", 0), ("CD", "C", "CH2", 0), ("NE", "N", "NC1", 0),
               ("CZ", "C", "C", 0), ("NH1", "N", "NC2", 0), ("NH2", "N", "NC2", 1)],
        bonds=[("CB", "CG", 1.521, 0.027, S), ("CG", "CD", 1.515, 0.025, S),
               ("CD", "NE", 1.460, 0.017, S), ("NE", "CZ", 1.326, 0.013, DL),
               ("CZ", "NH1", 1.326, 0.013, DL), ("CZ", "NH2", 1.326, 0.013, DL)],
        angles=[("CA", "CB", "CG", 113.4, 2.2), ("CB", "CG", "CD", 111.6, 2.6),
                ("CG", "CD", "NE", 111.8, 2.1), ("CD", "NE", "CZ", 123.6, 1.4),
                ("NE", "CZ", "NH1", 120.3, 0.5), ("NE", "CZ", "NH2", 120.3, 0.5),
                ("NH1", "CZ", "NH2", 119.4, 1.1)],
        build=[("CG", "CB", "CA", "N", -60.0), ("CD", "CG", "CB", "CA", 180.0),
               ("NE", "CD", "CG", "CB", 180.0), ("CZ", "NE", "CD", "CG", 180.0),
               ("NH1", "CZ", "NE", "CD", 0.0), ("NH2", "CZ", "NE", "CD", 180.0)],
        tors=[("chi1", "N", "CA", "CB", "CG", -60.0, 15.0, 3),
              ("chi2", "CA", "CB", "CG", "CD", 180.0, 15.0, 3),
              ("chi3", "CB", "CG", "CD", "NE", 180.0, 15.0, 3),
              ("chi4", "CG", "CD", "NE", "CZ", 180.0, 15.0, 3)],
        planes=[["CD", "NE", "CZ", "NH1", "NH2"]])

residue("PRO", "PROLINE", bb="PRO", cb="PRO",
        atoms=[("CG", "C", "CH2", 0), ("CD", "C", "CH2", 0)],
        bonds=[("CB", "CG", 1.495, 0.050, S), ("CG", "CD", 1.502, 0.033, S),
               ("N", "CD", 1.474, 0.014, S)],
        angles=[("CA", "CB", "CG", 104.8, 1.9), ("CB", "CG", "CD", 106.5, 3.9),
                ("N", "CD", "CG", 103.2, 1.5), ("CA", "N", "CD", 111.7, 1.4)],
        build=[("CG", "CB", "CA", "N", 30.0), ("CD", "CG", "CB", "CA", -35.0)],
        tors=[("chi1", "N", "CA", "CB", "CG", 30.0, 15.0, 3),
              ("chi2", "CA", "CB", "CG", "CD", -35.0, 15.0, 3)])

residue("PHE", "PHENYLALANINE",
        atoms=[("CG", "C", "CR6", 0), ("CD1", "C", "CR16", 0), ("CD2", "C", "CR16", 0),
               ("CE1", "C", "CR16", 0), ("CE2", "C", "CR16", 0), ("CZ", "C", "CR16", 0)],
        bonds=[("CB", "CG", 1.509, 0.017, S), ("CG", "CD1", 1.383, 0.015, AR),
               ("CG", "CD2", 1.383, 0.015, AR), ("CD1", "CE1", 1.388, 0.020, AR),
               ("CD2", "CE2", 1.388, 0.020, AR), ("CE1", "CZ", 1.369, 0.019, AR),
               ("CE2", "CZ", 1.369, 0.019, AR)],
        angles=[("CA", "CB", "CG", 113.9, 2.4), ("CB", "CG", "CD1", 120.8, 0.7),
                ("CB", "CG", "CD2", 120.8, 0.7), ("CD1", "CG", "CD2", 118.3, 1.3),
                ("CG", "CD1", "CE1", 120.8, 1.1), ("CG", "CD2", "CE2", 120.8, 1.1),
                ("CD1", "CE1", "CZ", 120.1, 1.2), ("CD2", "CE2", "CZ", 120.1, 1.2),
                ("CE1", "CZ", "CE2", 120.0, 1.8)],
        build=[("CG", "CB", "CA", "N", -60.0), ("CD1", "CG", "CB", "CA", 90.0),
               ("CD2", "CG", "CB", "CA", -90.0), ("CE1", "CD1", "CG", "CB", 180.0),
               ("CE2", "CD2", "CG", "CB", 180.0), ("CZ", "CE1", "CD1", "CG", 0.0)],
        tors=[("chi1", "N", "CA", "CB", "CG", -60.0, 15.0, 3),
              ("chi2", "CA", "CB", "CG", "CD1", 90.0, 20.0, 2)],
        planes=[["CB", "CG", "CD1", "CD2", "CE1", "CE2", "CZ"]])

residue("TYR", "TYROSINE",
        atoms=[("CG", "C", "CR6", 0), ("CD1", "C", "CR16", 0), ("CD2", "C", "CR16", 0),
               ("CE1", "C", "CR16", 0), ("CE2", "C", "CR16", 0), ("CZ", "C", "CR6", 0),
               ("OH", "O", "OH1", 0)],
        bonds=[("CB", "CG", 1.512, 0.015, S), ("CG", "CD1", 1.387, 0.013, AR),
               ("CG", "CD2", 1.387, 0.013, AR), ("CD1", "CE1", 1.389, 0.015, AR),
               ("CD2", "CE2", 1.389, 0.015, AR), ("CE1", "CZ", 1.381, 0.013, AR),
               ("CE2", "CZ", 1.381, 0.013, AR), ("CZ", "OH", 1.374, 0.017, S)],
        angles=[("CA", "CB", "CG", 113.4, 1.9), ("CB", "CG", "CD1", 121.0, 0.6),
                ("CB", "CG", "CD2", 121.0, 0.6), ("CD1", "CG", "CD2", 117.9, 1.1),
                ("CG", "CD1", "CE1", 121.3, 0.8), ("CG", "CD2", "CE2", 121.3, 0.8),
                ("CD1", "CE1", "CZ", 119.8, 0.9), ("CD2", "CE2", "CZ", 119.8, 0.9),
                ("CE1", "CZ", "CE2", 119.8, 1.6), ("CE1", "CZ", "OH", 120.1, 2.7),
                ("CE2", "CZ", "OH", 120.1, 2.7)],
        build=[("CG", "CB", "CA", "N", -60.0), ("CD1", "CG", "CB", "CA", 90.0),
               ("CD2", "CG", "CB", "CA", -90.0), ("CE1", "CD1", "CG", "CB", 180.0),
               ("CE2", "CD2", "CG", "CB", 180.0), ("CZ", "CE1", "CD1", "CG", 0.0),
               ("OH", "CZ", "CE1", "CD1", 180.0)],
        tors=[("chi1", "N", "CA", "CB", "CG", -60.0, 15.0, 3),
              ("chi2", "CA", "CB", "CG", "CD1", 90.0, 20.0, 2)],
        planes=[["CB", "CG", "CD1", "CD2", "CE1", "CE2", "CZ", "OH"]])

residue("TRP", "TRYPTOPHAN",
        atoms=[("CG", "C", "CR5", 0), ("CD1", "C", "CR15", 0), ("CD2", "C", "CR56", 0),
               ("NE1", "N", "NR15", 0), ("CE2", "C", "CR56", 0), ("CE3", "C", "CR16", 0),
               ("CZ2", "C", "CR16", 0), ("CZ3", "C", "CR16", 0), ("CH2", "C", "CR16", 0)],
        bonds=[("CB", "CG", 1.498, 0.018, S), ("CG", "CD1", 1.363, 0.014, AR),
               ("CG", "CD2", 1.432, 0.017, AR), ("CD1", "NE1", 1.375, 0.017, AR),
               ("NE1", "CE2", 1.371, 0.013, AR), ("CD2", "CE2", 1.409, 0.012, AR),
               ("CD2", "CE3", 1.399, 0.015, AR), ("CE2", "CZ2", 1.393, 0.017, AR),
               ("CE3", "CZ3", 1.380, 0.017, AR), ("CZ2", "CH2", 1.369, 0.019, AR),
               ("CZ3", "CH2", 1.396, 0.016, AR)],
        angles=[("CA", "CB", "CG", 113.6, 1.9), ("CB", "CG", "CD1", 126.9, 1.4),
                ("CB", "CG", "CD2", 126.8, 1.4), ("CD1", "CG", "CD2", 106.3, 0.8),
                ("CG", "CD1", "NE1", 110.1, 1.0), ("CD1", "NE1", "CE2", 109.0, 0.9),
                ("NE1", "CE2", "CD2", 107.3, 1.0), ("CG", "CD2", "CE2", 107.3, 0.8),
                ("CG", "CD2", "CE3", 133.9, 0.9), ("CE2", "CD2", "CE3", 118.8, 1.0),
                ("NE1", "CE2", "CZ2", 130.4, 1.1), ("CD2", "CE2", "CZ2", 122.3, 1.2),
                ("CD2", "CE3", "CZ3", 118.8, 1.0), ("CE2", "CZ2", "CH2", 117.4, 1.0),
                ("CE3", "CZ3", "CH2", 121.2, 1.1), ("CZ2", "CH2", "CZ3", 121.6, 1.2)],
        build=[("CG", "CB", "CA", "N", -60.0), ("CD1", "CG", "CB", "CA", 90.0),
               ("CD2", "CG", "CB", "CA", -90.0), ("NE1", "CD1", "CG", "CB", 180.0),
               ("CE2", "CD2", "CG", "CB", 180.0), ("CE3", "CD2", "CG", "CB", 0.0),
               ("CZ2", "CE2", "CD2", "CE3", 0.0), ("CZ3", "CE3", "CD2", "CE2", 0.0),
               ("CH2", "CZ2", "CE2", "CD2", 0.0)],
        tors=[("chi1", "N", "CA", "CB", "CG", -60.0, 15.0, 3),
              ("chi2", "CA", "CB", "CG", "CD1", 90.0, 20.0, 2)],
        planes=[["CB", "CG", "CD1", "CD2", "NE1", "CE2", "CE3", "CZ2", "CZ3", "CH2"]])

residue("HIS", "HISTIDINE",
        atoms=[("CG", "C", "CR5", 0), ("ND1", "N", "NR15", 1), ("CD2", "C", "CR15", 0),
               ("CE1", "C", "CR15", 0), ("NE2", "N", "NR15", 0)],
        bonds=[("CB", "CG", 1.496, 0.018, S), ("CG", "ND1", 1.383, 0.022, AR),
               ("CG", "CD2", 1.354, 0.009, AR), ("ND1", "CE1", 1.323, 0.015, AR),
               ("CE1", "NE2", 1.317, 0.011, AR), ("CD2", "NE2", 1.373, 0.011, AR)],
        angles=[("CA", "CB", "CG", 113.6, 1.7), ("CB", "CG", "ND1", 122.7, 1.5),
                ("CB", "CG", "CD2", 131.4, 1.2), ("ND1", "CG", "CD2", 106.1, 1.0),
                ("CG", "ND1", "CE1", 109.0, 1.0), ("ND1", "CE1", "NE2", 108.5, 1.1),
                ("CE1", "NE2", "CD2", 109.0, 1.0), ("CG", "CD2", "NE2", 107.4, 1.0)],
        build=[("CG", "CB", "CA", "N", -60.0), ("ND1", "CG", "CB", "CA", -90.0),
               ("CD2", "CG", "CB", "CA", 90.0), ("CE1", "ND1", "CG", "CB", 180.0),
               ("NE2", "CD2", "CG", "CB", 180.0)],
        tors=[("chi1", "N", "CA", "CB", "CG", -60.0, 15.0, 3),
              ("chi2", "CA", "CB", "CG", "ND1", -90.0, 20.0, 2)],
        planes=[["CB", "CG", "ND1", "CD2", "CE1", "NE2"]])

# ---------------------------------------------------------------------------
# Assemble complete monomers (free amino acid: N as NH3+, C-terminal COO-).
# ---------------------------------------------------------------------------


def assemble(code: str) -> dict:
    r = RESIDUES[code]
    bb = BACKBONE[r["bb"]]
    pro = code == "PRO"
    atoms = [("N", "N", "NT2" if pro else "NT3", 1), ("CA", "C", "CH2" if code == "GLY" else "CH1", 0),
             ("C", "C", "C", 0), ("O", "O", "O", 0), ("OXT", "O", "OC", -1)]
    # Pro keeps its in-chain N values: E&H give none for a free imino acid.
    n_ca = bb["N-CA"] if pro else TERMINAL["N-CA"]
    bonds = [("N", "CA", *n_ca, S), ("CA", "C", *bb["CA-C"], S),
             ("C", "O", *TERMINAL["C-O"], DL), ("C", "OXT", *TERMINAL["C-O"], DL)]
    angles = [("N", "CA", "C", *bb["N-CA-C"]),
              ("CA", "C", "O", *TERMINAL["CA-C-O"]), ("CA", "C", "OXT", *TERMINAL["CA-C-O"]),
              ("O", "C", "OXT", *TERMINAL["O-C-OXT"])]
    build = [("O", "C", "CA", "N", -30.0), ("OXT", "C", "CA", "N", 150.0)]
    chir = []
    if r["cb"] is not None:
        cb = CBETA[r["cb"]]
        atoms.append(("CB", "C", "CH3" if code == "ALA" else ("CH1" if r["cb"] == "ITV" else "CH2"), 0))
        bonds.append(("CA", "CB", *cb["CA-CB"], S))
        angles += [("N", "CA", "CB", *cb["N-CA-CB"]), ("C", "CA", "CB", *cb["C-CA-CB"])]
        build.insert(0, ("CB", "CA", "N", "C", -122.5))   # L-configuration
        chir.append(("CA", "N", "C", "CB"))
    atoms += r["atoms"]
    bonds += r["bonds"]
    angles += r["angles"]
    build += r["build"]
    chir += r["chir"]
    planes = [["C", "CA", "O", "OXT"]] + r["planes"]
    return dict(code=code, name=r["name"], group="P-peptide" if pro else "peptide",
                atoms=atoms, bonds=bonds, angles=angles, build=build, tors=r["tors"],
                chir=chir, planes=planes)


# ---------------------------------------------------------------------------
# Geometry: NeRF placement and least-squares idealisation.
# ---------------------------------------------------------------------------


def angle_deg(p1, p2, p3):
    u, v = p1 - p2, p3 - p2
    c = np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v))
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


def chiral_volume(c, a1, a2, a3):
    return float(np.dot(a1 - c, np.cross(a2 - c, a3 - c)))


def nerf_coordinates(m: dict) -> dict[str, np.ndarray]:
    """Coordinates built atom by atom from the ideal internal coordinates (NeRF)."""
    bond = {frozenset(b[:2]): b[2] for b in m["bonds"]}
    angle = {}
    for a in m["angles"]:
        angle[(a[0], a[1], a[2])] = angle[(a[2], a[1], a[0])] = a[3]
    xyz = {}
    xyz["N"] = np.zeros(3)
    xyz["CA"] = np.array([bond[frozenset(("N", "CA"))], 0.0, 0.0])
    t = math.radians(angle[("N", "CA", "C")])
    d = bond[frozenset(("CA", "C"))]
    xyz["C"] = xyz["CA"] + d * np.array([-math.cos(t), math.sin(t), 0.0])
    for atom, b, a, tor_atom, tor in m["build"]:
        xyz[atom] = place(xyz[tor_atom], xyz[a], xyz[b], bond[frozenset((atom, b))],
                          angle[(atom, b, a)], tor)
    missing = {a[0] for a in m["atoms"]} - set(xyz)
    assert not missing, (m["code"], missing)
    return xyz


# Idealisation.  The restraints (bonds, angles, planes) do not determine a monomer's
# orientation nor its free torsions (rotation of the carboxylate about CA-C, the chi
# angles): the least-squares problem has a null space.  Without anything to fix it, where
# the solver stops along it is decided by rounding: a change of 1e-10 A in the start moved
# atoms by up to 0.15 A, and so did another BLAS kernel (OPENBLAS_CORETYPE) or an SVD that
# returned the plane normal with the other sign between two finite-difference steps.  So
# the problem is made well posed: a weak pull of every atom towards its start
# (IDEALISE_PULL, residual displacement / 1 A, worth a 1e-6 A bond error per 0.001 A of
# displacement) selects the solution nearest the start, the plane normals keep the sign
# they have at the start, and the Jacobian is a central difference.  The result is then a
# smooth function of the start and the targets (reproduced to 1e-7 A across BLAS kernels).
IDEALISE_PULL = 1.0     # 1/A
BOND_SCALE = 0.001      # A: residual units of the least-squares problem
ANGLE_SCALE = 0.1       # degrees
PLANE_SCALE = 0.001     # A


def idealise(m: dict, start: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Coordinates satisfying the bond, angle and plane targets, nearest to `start`."""
    names = [a[0] for a in m["atoms"]]
    idx = {n: i for i, n in enumerate(names)}
    x0 = np.array([start[n] for n in names], float).ravel()
    if len(names) == 1:
        return {names[0]: x0.copy()}
    bi = np.array([[idx[b[0]], idx[b[1]]] for b in m["bonds"]], int).reshape(-1, 2)
    b0 = np.array([b[2] for b in m["bonds"]], float)
    ai = np.array([[idx[a[0]], idx[a[1]], idx[a[2]]] for a in m["angles"]], int).reshape(-1, 3)
    a0 = np.array([a[3] for a in m["angles"]], float)
    planes = [np.array([idx[n] for n in plane]) for plane in m["planes"]]

    def normals(p):
        out = []
        for pl in planes:
            q = p[pl] - p[pl].mean(axis=0)
            out.append(np.linalg.svd(q)[2][-1])
        return out

    ref_normals = normals(x0.reshape(-1, 3))

    def residuals(x):
        p = x.reshape(-1, 3)
        d = np.linalg.norm(p[bi[:, 0]] - p[bi[:, 1]], axis=1)
        u = p[ai[:, 0]] - p[ai[:, 1]]
        v = p[ai[:, 2]] - p[ai[:, 1]]
        c = np.einsum("ij,ij->i", u, v) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))
        theta = np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))
        res = [(d - b0) / BOND_SCALE, (theta - a0) / ANGLE_SCALE]
        for pl, n, n_ref in zip(planes, normals(p), ref_normals):
            q = p[pl] - p[pl].mean(axis=0)
            res.append(q @ (n if n @ n_ref >= 0 else -n) / PLANE_SCALE)
        res.append(IDEALISE_PULL * (x - x0))
        return np.concatenate(res)

    fit = least_squares(residuals, x0, jac="3-point", method="trf", x_scale=1.0,
                        tr_solver="exact", xtol=1e-15, ftol=1e-15, gtol=1e-10, max_nfev=1000)
    if fit.status <= 0:
        raise RuntimeError(f"{m['code']}: idealisation did not converge ({fit.message})")
    p = fit.x.reshape(-1, 3)
    return {n: p[idx[n]] for n in names}


def build_coordinates(m: dict, start: dict[str, np.ndarray] | None = None
                      ) -> dict[str, np.ndarray]:
    """Ideal coordinates: idealised from `start` (or from the NeRF build), CA at the origin."""
    xyz = idealise(m, nerf_coordinates(m) if start is None else start)
    ca = xyz["CA"].copy()
    return {n: v - ca for n, v in xyz.items()}


def check_geometry(m: dict, xyz: dict) -> tuple[float, float]:
    db = max(abs(np.linalg.norm(xyz[b[0]] - xyz[b[1]]) - b[2]) for b in m["bonds"])
    da = max(abs(angle_deg(xyz[a[0]], xyz[a[1]], xyz[a[2]]) - a[3]) for a in m["angles"])
    return db, da


# ---------------------------------------------------------------------------
# CIF writing
# ---------------------------------------------------------------------------

HEADER = """\
# {what}
# mainpy built-in restraint dictionary, written by tools/make_dictionary.py.
# Bond lengths and angles: Engh & Huber (2001), International Tables for
# Crystallography Vol. F, ch. 18.3 (see README.md for details and exceptions).
"""


def q(s: str) -> str:
    """Quote a CIF value if needed."""
    if not s:
        return "."
    if any(ch in s for ch in " \t'\"") or s[0] in "_#$;[]" or s.lower().startswith(("data_", "loop_", "save_")):
        return '"%s"' % s if '"' not in s else "'%s'" % s
    return s


def loop(tags: list[str], rows: list[list[str]]) -> str:
    out = ["loop_"] + tags
    widths = [max(len(r[i]) for r in rows) for i in range(len(tags))] if rows else []
    for r in rows:
        out.append(" ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
    return "\n".join(out) + "\n"


def comp_list_rows(monomers: list[dict]) -> list[list[str]]:
    rows = []
    for m in monomers:
        group = m.get("group", "peptide")
        nh = sum(1 for a in m["atoms"] if a[1] != "H")
        rows.append([m["code"], m["code"], q(m["name"]), group, str(len(m["atoms"])), str(nh), "."])
    return rows


COMP_TAGS = ["_chem_comp.id", "_chem_comp.three_letter_code", "_chem_comp.name",
             "_chem_comp.group", "_chem_comp.number_atoms_all", "_chem_comp.number_atoms_nh",
             "_chem_comp.desc_level"]


def monomer_cif(m: dict, xyz: dict) -> str:
    c = m["code"]
    parts = [HEADER.format(what=f"{c}: {m['name'].lower()}"), "data_comp_list\n",
             loop(COMP_TAGS, comp_list_rows([m])), f"\ndata_comp_{c}\n"]
    parts.append(loop(
        ["_chem_comp_atom.comp_id", "_chem_comp_atom.atom_id", "_chem_comp_atom.type_symbol",
         "_chem_comp_atom.type_energy", "_chem_comp_atom.charge",
         "_chem_comp_atom.x", "_chem_comp_atom.y", "_chem_comp_atom.z"],
        [[c, a[0], a[1], a[2], str(a[3])] + ["%.3f" % (v + 0.0) for v in np.round(xyz[a[0]], 3)]
         for a in m["atoms"]]))
    if m["bonds"]:
        parts.append("\n" + loop(
            ["_chem_comp_bond.comp_id", "_chem_comp_bond.atom_id_1", "_chem_comp_bond.atom_id_2",
             "_chem_comp_bond.type", "_chem_comp_bond.aromatic",
             "_chem_comp_bond.value_dist", "_chem_comp_bond.value_dist_esd",
             "_chem_comp_bond.value_dist_nucleus", "_chem_comp_bond.value_dist_nucleus_esd"],
            [[c, b[0], b[1], b[4], "y" if b[4] == AR else "n",
              "%.3f" % b[2], "%.3f" % b[3], "%.3f" % b[2], "%.3f" % b[3]] for b in m["bonds"]]))
    if m["angles"]:
        parts.append("\n" + loop(
            ["_chem_comp_angle.comp_id", "_chem_comp_angle.atom_id_1", "_chem_comp_angle.atom_id_2",
             "_chem_comp_angle.atom_id_3", "_chem_comp_angle.value_angle",
             "_chem_comp_angle.value_angle_esd"],
            [[c, a[0], a[1], a[2], "%.1f" % a[3], "%.1f" % a[4]] for a in m["angles"]]))
    if m["tors"]:
        parts.append("\n" + loop(
            ["_chem_comp_tor.comp_id", "_chem_comp_tor.id", "_chem_comp_tor.atom_id_1",
             "_chem_comp_tor.atom_id_2", "_chem_comp_tor.atom_id_3", "_chem_comp_tor.atom_id_4",
             "_chem_comp_tor.value_angle", "_chem_comp_tor.value_angle_esd",
             "_chem_comp_tor.period"],
            [[c, t[0], t[1], t[2], t[3], t[4], "%.1f" % t[5], "%.1f" % t[6], str(t[7])]
             for t in m["tors"]]))
    if m["chir"]:
        rows = []
        for i, ch in enumerate(m["chir"], 1):
            if len(ch) == 5:
                sign = "both"
            else:
                v = chiral_volume(*(xyz[n] for n in ch))
                sign = "positive" if v > 0 else "negative"
            rows.append([c, "chir_%d" % i, ch[0], ch[1], ch[2], ch[3], sign])
        parts.append("\n" + loop(
            ["_chem_comp_chir.comp_id", "_chem_comp_chir.id", "_chem_comp_chir.atom_id_centre",
             "_chem_comp_chir.atom_id_1", "_chem_comp_chir.atom_id_2", "_chem_comp_chir.atom_id_3",
             "_chem_comp_chir.volume_sign"], rows))
    if m["planes"]:
        rows = [[c, "plan-%d" % i, n, "%.3f" % PLANE_ESD]
                for i, plane in enumerate(m["planes"], 1) for n in plane]
        parts.append("\n" + loop(
            ["_chem_comp_plane_atom.comp_id", "_chem_comp_plane_atom.plane_id",
             "_chem_comp_plane_atom.atom_id", "_chem_comp_plane_atom.dist_esd"], rows))
    return "".join(parts)


def water() -> dict:
    return dict(code="HOH", name="WATER", group="NON-POLYMER", atoms=[("O", "O", "OH2", 0)],
                bonds=[], angles=[], build=[], tors=[], chir=[], planes=[])


# --- links and modifications ------------------------------------------------

def link_block(link_id: str, bonds, angles, tors, planes) -> str:
    out = [f"data_link_{link_id}\n"]
    out.append(loop(
        ["_chem_link_bond.link_id", "_chem_link_bond.atom_1_comp_id", "_chem_link_bond.atom_id_1",
         "_chem_link_bond.atom_2_comp_id", "_chem_link_bond.atom_id_2", "_chem_link_bond.type",
         "_chem_link_bond.value_dist", "_chem_link_bond.value_dist_esd"],
        [[link_id, str(b[0]), b[1], str(b[2]), b[3], b[4], "%.3f" % b[5], "%.3f" % b[6]]
         for b in bonds]))
    out.append("\n" + loop(
        ["_chem_link_angle.link_id", "_chem_link_angle.atom_1_comp_id", "_chem_link_angle.atom_id_1",
         "_chem_link_angle.atom_2_comp_id", "_chem_link_angle.atom_id_2",
         "_chem_link_angle.atom_3_comp_id", "_chem_link_angle.atom_id_3",
         "_chem_link_angle.value_angle", "_chem_link_angle.value_angle_esd"],
        [[link_id, str(a[0]), a[1], str(a[2]), a[3], str(a[4]), a[5], "%.1f" % a[6], "%.1f" % a[7]]
         for a in angles]))
    if tors:
        out.append("\n" + loop(
            ["_chem_link_tor.link_id", "_chem_link_tor.id",
             "_chem_link_tor.atom_1_comp_id", "_chem_link_tor.atom_id_1",
             "_chem_link_tor.atom_2_comp_id", "_chem_link_tor.atom_id_2",
             "_chem_link_tor.atom_3_comp_id", "_chem_link_tor.atom_id_3",
             "_chem_link_tor.atom_4_comp_id", "_chem_link_tor.atom_id_4",
             "_chem_link_tor.value_angle", "_chem_link_tor.value_angle_esd",
             "_chem_link_tor.period"],
            [[link_id, t[0]] + [str(v) for v in t[1:9]] + ["%.1f" % t[9], "%.1f" % t[10], str(t[11])]
             for t in tors]))
    if planes:
        out.append("\n" + loop(
            ["_chem_link_plane.link_id", "_chem_link_plane.plane_id",
             "_chem_link_plane.atom_comp_id", "_chem_link_plane.atom_id",
             "_chem_link_plane.dist_esd"],
            [[link_id, pid, str(comp), atom, "%.3f" % PLANE_ESD]
             for pid, atoms in planes for comp, atom in atoms]))
    return "".join(out)


def peptide_link(link_id: str, cis: bool, pro: bool) -> str:
    v = (PEPTIDE_CISPRO if cis else PEPTIDE_PRO) if pro else PEPTIDE
    bonds = [(1, "C", 2, "N", "single", *v["C-N"])]
    angles = [(1, "CA", 1, "C", 2, "N", *v["CA-C-N"]),
              (1, "O", 1, "C", 2, "N", *v["O-C-N"]),
              (1, "C", 2, "N", 2, "CA", *v["C-N-CA"])]
    planes = [("plan-1", [(1, "CA"), (1, "C"), (1, "O"), (2, "N")])]
    if pro:
        angles.append((1, "C", 2, "N", 2, "CD", *v["C-N-CD"]))
        planes.append(("plan-2", [(1, "C"), (2, "N"), (2, "CA"), (2, "CD")]))
    tors = [("omega", 1, "CA", 1, "C", 2, "N", 2, "CA", 0.0 if cis else 180.0, 5.0, 0)]
    return link_block(link_id, bonds, angles, tors, planes)


def disulfide_link() -> str:
    bonds = [(1, "SG", 2, "SG", "single", *DISULFIDE["SG-SG"])]
    angles = [(1, "CB", 1, "SG", 2, "SG", *DISULFIDE["CB-SG-SG"]),
              (1, "SG", 2, "SG", 2, "CB", *DISULFIDE["CB-SG-SG"])]
    tors = [("ss", 1, "CB", 1, "SG", 2, "SG", 2, "CB", 90.0, 10.0, 2)]
    return link_block("disulf", bonds, angles, tors, [])


MOD_ATOM_TAGS = ["_chem_mod_atom.mod_id", "_chem_mod_atom.function", "_chem_mod_atom.atom_id",
                 "_chem_mod_atom.new_atom_id", "_chem_mod_atom.new_type_symbol",
                 "_chem_mod_atom.new_type_energy", "_chem_mod_atom.new_charge"]
MOD_BOND_TAGS = ["_chem_mod_bond.mod_id", "_chem_mod_bond.function", "_chem_mod_bond.atom_id_1",
                 "_chem_mod_bond.atom_id_2", "_chem_mod_bond.new_type",
                 "_chem_mod_bond.new_value_dist", "_chem_mod_bond.new_value_dist_esd",
                 "_chem_mod_bond.new_value_dist_nucleus", "_chem_mod_bond.new_value_dist_nucleus_esd"]
MOD_ANGLE_TAGS = ["_chem_mod_angle.mod_id", "_chem_mod_angle.function", "_chem_mod_angle.atom_id_1",
                  "_chem_mod_angle.atom_id_2", "_chem_mod_angle.atom_id_3",
                  "_chem_mod_angle.new_value_angle", "_chem_mod_angle.new_value_angle_esd"]
MOD_PLANE_TAGS = ["_chem_mod_plane_atom.mod_id", "_chem_mod_plane_atom.function",
                  "_chem_mod_plane_atom.plane_id", "_chem_mod_plane_atom.atom_id",
                  "_chem_mod_plane_atom.new_dist_esd"]


def mod_blocks() -> str:
    g = BACKBONE["general"]
    out = []
    # C-terminal carboxylate -> peptide carbonyl (residue on the C side of a link)
    out.append("data_mod_DEL-OXT\n")
    out.append(loop(MOD_ATOM_TAGS, [["DEL-OXT", "delete", "OXT", ".", "O", "OC", "-1"]]))
    out.append("\n" + loop(MOD_BOND_TAGS, [
        ["DEL-OXT", "delete", "C", "OXT", "deloc", ".", ".", ".", "."],
        ["DEL-OXT", "change", "C", "O", "double"] + ["%.3f" % v for v in g["C-O"] * 2]]))
    out.append("\n" + loop(MOD_ANGLE_TAGS, [
        ["DEL-OXT", "delete", "CA", "C", "OXT", ".", "."],
        ["DEL-OXT", "delete", "O", "C", "OXT", ".", "."],
        ["DEL-OXT", "change", "CA", "C", "O", "%.1f" % g["CA-C-O"][0], "%.1f" % g["CA-C-O"][1]]]))
    out.append("\n" + loop(MOD_PLANE_TAGS, [
        ["DEL-OXT", "delete", "plan-1", a, "%.3f" % PLANE_ESD] for a in ("C", "CA", "O", "OXT")]))
    # N-terminal ammonium -> peptide NH (residue on the N side of a link)
    out.append("\ndata_mod_DEL-HN1\n")
    out.append(loop(MOD_ATOM_TAGS, [["DEL-HN1", "change", "N", ".", "N", "NH1", "0"]]))
    out.append("\n" + loop(MOD_BOND_TAGS, [
        ["DEL-HN1", "change", "N", "CA", "single"] + ["%.3f" % v for v in g["N-CA"] * 2]]))
    # proline N in a peptide (the monomer already has the in-chain N values)
    out.append("\ndata_mod_DEL-HNP\n")
    out.append(loop(MOD_ATOM_TAGS, [["DEL-HNP", "change", "N", ".", "N", "NH0", "0"]]))
    # cysteine in a disulfide
    out.append("\ndata_mod_CYS-SS\n")
    out.append(loop(MOD_ATOM_TAGS, [["CYS-SS", "change", "SG", ".", "S", "S2", "0"]]))
    return "".join(out)


def mon_lib_list(monomers: list[dict]) -> str:
    out = [HEADER.format(what="links, modifications and the list of monomers"),
           "data_lib\n_lib.name mainpy\n_lib.version 1.0\n\n",
           "data_comp_list\n", loop(COMP_TAGS, comp_list_rows(monomers)), "\n"]
    out.append("data_link_list\n" + loop(
        ["_chem_link.id", "_chem_link.comp_id_1", "_chem_link.mod_id_1", "_chem_link.group_comp_1",
         "_chem_link.comp_id_2", "_chem_link.mod_id_2", "_chem_link.group_comp_2", "_chem_link.name"],
        [["TRANS", ".", "DEL-OXT", "peptide", ".", "DEL-HN1", "peptide", "TRANS"],
         ["CIS", ".", "DEL-OXT", "peptide", ".", "DEL-HN1", "peptide", "CIS"],
         ["PTRANS", ".", "DEL-OXT", "peptide", ".", "DEL-HNP", "P-peptide", "PTRANS"],
         ["PCIS", ".", "DEL-OXT", "peptide", ".", "DEL-HNP", "P-peptide", "PCIS"],
         ["disulf", "CYS", "CYS-SS", "peptide", "CYS", "CYS-SS", "peptide", "SS-bridge"]]) + "\n")
    out.append("data_mod_list\n" + loop(
        ["_chem_mod.id", "_chem_mod.name", "_chem_mod.comp_id", "_chem_mod.group_id"],
        [["DEL-OXT", q("C-terminal carboxylate in a peptide bond"), ".", "peptide"],
         ["DEL-HN1", q("N-terminal amine in a peptide bond"), ".", "peptide"],
         ["DEL-HNP", q("proline N in a peptide bond"), ".", "P-peptide"],
         ["CYS-SS", q("cysteine in a disulfide bridge"), "CYS", "peptide"]]) + "\n")
    out.append(peptide_link("TRANS", cis=False, pro=False) + "\n")
    out.append(peptide_link("CIS", cis=True, pro=False) + "\n")
    out.append(peptide_link("PTRANS", cis=False, pro=True) + "\n")
    out.append(peptide_link("PCIS", cis=True, pro=True) + "\n")
    out.append(disulfide_link() + "\n")
    out.append(mod_blocks())
    return "".join(out)


# --- energy library ---------------------------------------------------------

# (type, weight, hb_type, vdw radius, element, valency, sp); radii from Bondi (1964)
ENERGY_TYPES = [
    ("C", 12.011, "N", 1.70, "C", 4, 2), ("CH1", 12.011, "N", 1.70, "C", 4, 3),
    ("CH2", 12.011, "N", 1.70, "C", 4, 3), ("CH3", 12.011, "N", 1.70, "C", 4, 3),
    ("CR5", 12.011, "N", 1.70, "C", 4, 2), ("CR6", 12.011, "N", 1.70, "C", 4, 2),
    ("CR15", 12.011, "N", 1.70, "C", 4, 2), ("CR16", 12.011, "N", 1.70, "C", 4, 2),
    ("CR56", 12.011, "N", 1.70, "C", 4, 2),
    ("N", 14.007, "N", 1.55, "N", 3, 2), ("NH0", 14.007, "N", 1.55, "N", 3, 2),
    ("NH1", 14.007, "D", 1.55, "N", 3, 2), ("NH2", 14.007, "D", 1.55, "N", 3, 2),
    ("NC1", 14.007, "D", 1.55, "N", 3, 2), ("NC2", 14.007, "D", 1.55, "N", 3, 2),
    ("NR15", 14.007, "D", 1.55, "N", 3, 2), ("NRD5", 14.007, "A", 1.55, "N", 3, 2),
    ("NT2", 14.007, "D", 1.55, "N", 3, 3), ("NT3", 14.007, "D", 1.55, "N", 3, 3),
    ("O", 15.999, "A", 1.52, "O", 2, 2), ("OC", 15.999, "A", 1.52, "O", 2, 2),
    ("OH1", 15.999, "B", 1.52, "O", 2, 3), ("OH2", 15.999, "B", 1.52, "O", 2, 3),
    ("S2", 32.065, "N", 1.80, "S", 2, 3), ("SH1", 32.065, "B", 1.80, "S", 2, 3),
    ("S", 32.065, "A", 1.80, "S", 2, 3), ("SE", 78.971, "N", 1.90, "SE", 2, 3),
    ("H", 1.008, "H", 1.20, "H", 1, 0),
]


def ener_lib() -> str:
    rows = [[t, "%.3f" % w, hb, "%.2f" % r, "%.2f" % r, ".", el, str(val), str(sp)]
            for t, w, hb, r, el, val, sp in ENERGY_TYPES]
    return (HEADER.format(what="energy types: van der Waals radii (Bondi, 1964)")
            + "data_energy\n" + loop(
                ["_lib_atom.type", "_lib_atom.weight", "_lib_atom.hb_type", "_lib_atom.vdw_radius",
                 "_lib_atom.vdwh_radius", "_lib_atom.ion_radius", "_lib_atom.element",
                 "_lib_atom.valency", "_lib_atom.sp"], rows))


# ---------------------------------------------------------------------------

CODES = ["ALA", "ARG", "ASN", "ASP", "CYS", "GLN", "GLU", "GLY", "HIS", "ILE", "LEU", "LYS",
         "MET", "MSE", "PHE", "PRO", "SER", "THR", "TRP", "TYR", "VAL"]


def write_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="\n") as f:
        f.write(text)


def previous_coordinates(folder: Path, code: str) -> dict[str, np.ndarray] | None:
    """A monomer's ideal coordinates in an existing dictionary (None if absent)."""
    import gemmi

    path = folder / code[0].lower() / f"{code}.cif"
    if not path.is_file():
        return None
    block = gemmi.cif.read(str(path)).find_block(f"comp_{code}")
    if block is None:
        return None
    t = block.find("_chem_comp_atom.", ["atom_id", "x", "y", "z"])
    return {row.str(0): np.array([gemmi.cif.as_number(row[k]) for k in (1, 2, 3)])
            for row in t}


#: an existing monomer is kept as it is when idealising it moves no atom by more than this
#: (the last digit written): the rounding to 0.001 A would otherwise make every run shift a
#: few coordinates by one unit of that digit
KEEP_TOL = 0.001


def main(argv: list[str]) -> int:
    args = argv[1:]
    scratch = "--from-scratch" in args
    args = [a for a in args if a != "--from-scratch"]
    out = Path(args[0]) if args else DEFAULT_OUT
    monomers = []
    for code in CODES:
        m = assemble(code)
        start = None if scratch else previous_coordinates(DEFAULT_OUT, code)
        if start is not None and set(start) != {a[0] for a in m["atoms"]}:
            start = None                 # the atoms changed: build this monomer afresh
        xyz = build_coordinates(m, start)
        if start is not None and max(np.abs(xyz[k] - start[k]).max() for k in xyz) <= KEEP_TOL:
            xyz = start   # already ideal to the precision of the file: keep it, digit for digit
        rounded = {k: np.round(v, 3) for k, v in xyz.items()}
        db, da = check_geometry(m, rounded)
        if db > 0.005 or da > 0.5:
            print(f"warning: {code} ideal coordinates deviate: bonds {db:.4f} A, angles {da:.2f} deg",
                  file=sys.stderr)
        write_file(out / code[0].lower() / f"{code}.cif", monomer_cif(m, xyz))
        monomers.append(m)
    hoh = water()
    write_file(out / "h" / "HOH.cif", monomer_cif(hoh, {"O": np.zeros(3)}))
    monomers.append(hoh)
    write_file(out / "list" / "mon_lib_list.cif", mon_lib_list(monomers))
    write_file(out / "ener_lib.cif", ener_lib())
    print(f"wrote {len(monomers)} monomers to {os.path.relpath(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
