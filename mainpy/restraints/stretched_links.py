"""Polymer links that gemmi's distance heuristic would drop from a distorted model.

gemmi's topology links two consecutive residues of a chain only when their link atoms
(C and N of a peptide, O3' and P of a nucleic acid) are within about 2 A; a longer pair
gets a "gap" link with no restraints. In a start model with stretched bonds (one shaken by
0.6 A rms, or badly built) the pair then stays apart for the whole refinement: from the
truth benchmark's 2r4r start 95 of 640 peptide bonds were left unrestrained and ended at
1.9-2.7 A (servalcat, which uses the same topology, did the same).

Here such pairs are linked all the same when they are numbered consecutively in the
chain and their link atoms are within MAX_STRETCH: a `gemmi.Connection` with the link the
pair would have had (TRANS or CIS by the omega angle, PTRANS / PCIS before a proline,
NMTRANS / NMCIS before an N-methylated residue, p between nucleotides), which
`prepare_topology` then applies with the library's rules. Real chain breaks (residues
missing, the numbering jumps, or the atoms farther apart) stay breaks.
"""

from __future__ import annotations

import io
import math

import gemmi

#: link atoms farther apart than this (A) are a chain break even when numbered
#: consecutively (a peptide C-N is 1.33 A; a 0.6 A rms shake leaves it below 3 A)
MAX_STRETCH = 4.0

_PEPTIDE = {gemmi.ChemComp.Group.Peptide: "", gemmi.ChemComp.Group.PPeptide: "P",
            gemmi.ChemComp.Group.MPeptide: "NM"}
_NUCLEIC = (gemmi.ChemComp.Group.Dna, gemmi.ChemComp.Group.Rna, gemmi.ChemComp.Group.DnaRna)


def _consecutive(a: gemmi.Residue, b: gemmi.Residue) -> bool:
    """b follows a in the numbering (n, n + 1; or n, nA)."""
    na, nb = a.seqid.num, b.seqid.num
    ia, ib = a.seqid.icode.strip(), b.seqid.icode.strip()
    return (nb == na + 1 and not ib) or (nb == na and ib > ia)


def _group(monlib: gemmi.MonLib, res: gemmi.Residue):
    return monlib.monomers[res.name].group if res.name in monlib.monomers else None


def _link(monlib, a: gemmi.Residue, b: gemmi.Residue):
    """(link id, atom of a, atom of b) of the polymer link from a to b, or None."""
    ga, gb = _group(monlib, a), _group(monlib, b)
    if ga in _PEPTIDE and gb in _PEPTIDE:
        ca1, c, n, ca2 = (a.find_atom("CA", "*"), a.find_atom("C", "*"),
                          b.find_atom("N", "*"), b.find_atom("CA", "*"))
        if None in (ca1, c, n, ca2):
            return None
        omega = math.degrees(gemmi.calculate_dihedral(ca1.pos, c.pos, n.pos, ca2.pos))
        return (_PEPTIDE[gb] + ("CIS" if abs(omega) < 90 else "TRANS"), c, n)
    if ga in _NUCLEIC and gb in _NUCLEIC:
        o3, p = a.find_atom("O3'", "*"), b.find_atom("P", "*")
        return None if o3 is None or p is None else ("p", o3, p)
    return None


def gap_pairs(topo) -> list[tuple]:
    """(chain name, previous residue, residue) of every "gap" link of a gemmi topology."""
    out = []
    for ci in topo.chain_infos:
        infos = ci.res_infos
        for k in range(1, len(infos)):
            if any(link.link_id == "gap" for link in infos[k].prev):
                out.append((ci.chain_ref.name, infos[k - 1].res, infos[k].res))
    return out


def bridge(st: gemmi.Structure, monlib: gemmi.MonLib, topo,
           max_stretch: float = MAX_STRETCH) -> list[str]:
    """Add to ``st.connections`` a link for each gap of ``topo`` (made from model 0 of
    ``st``) between consecutively numbered residues whose link atoms are within
    ``max_stretch``; returns one "A40-41 2.20 A" per link added (none: nothing changed,
    the topology stands). Make the topology again after it when any were added."""
    said = []
    for chain, a, b in gap_pairs(topo):
        if not _consecutive(a, b):
            continue
        found = _link(monlib, a, b)
        if found is None:
            continue
        link_id, x, y = found
        d = x.pos.dist(y.pos)
        if d > max_stretch:
            continue
        con = gemmi.Connection()
        con.name = f"stretched{len(said) + 1}"
        con.type = gemmi.ConnectionType.Covale
        con.link_id = link_id
        con.asu = gemmi.Asu.Same
        con.partner1 = gemmi.AtomAddress(chain, a.seqid, a.name, x.name, x.altloc)
        con.partner2 = gemmi.AtomAddress(chain, b.seqid, b.name, y.name, y.altloc)
        st.connections.append(con)
        said.append(f"{chain}{a.seqid.num}{a.seqid.icode.strip()}-"
                    f"{b.seqid.num}{b.seqid.icode.strip()} {d:.2f} A")
    return said


def prepare(st: gemmi.Structure, monlib: gemmi.MonLib, **kwargs) -> tuple:
    """gemmi.prepare_topology(st, monlib, model_index=0, ignore_unknown_links=True,
    **kwargs) with the stretched links bridged (`bridge`; the topology made again when any
    were): (topology, the links added, gemmi's warnings of the topology returned)."""
    def once():
        log = io.StringIO()
        topo = gemmi.prepare_topology(st, monlib, model_index=0, warnings=log,
                                      ignore_unknown_links=True, **kwargs)
        return topo, log.getvalue()

    topo, warnings = once()
    said = bridge(st, monlib, topo)
    if said:
        del topo
        topo, warnings = once()
    return topo, said, warnings


def message(said: list[str]) -> str:
    """One line on the links `bridge` added."""
    shown = ", ".join(said[:6]) + (f", ... ({len(said) - 6} more)" if len(said) > 6 else "")
    return (f"{len(said)} polymer link{'s' if len(said) != 1 else ''} restrained although "
            f"stretched beyond gemmi's 2 A (consecutive residues, link atoms within "
            f"{MAX_STRETCH:g} A): {shown}")


def remove(st: gemmi.Structure, count: int) -> None:
    """Take the last ``count`` connections (those `bridge` added) off ``st`` again."""
    for _ in range(count):
        st.connections.pop()
