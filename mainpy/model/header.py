"""mainpy's own refinement statistics in the header of a written model.

A model read from a deposited file carries its depositor's figures (REMARK 3 of PDB,
`_refine`, `_refine_ls_restr`, `_software` of mmCIF). A model mainpy writes must say what
mainpy found instead: the program and its version, the resolution range, the work and
free reflection counts, R-work / R-free of the current Fmodel and the rmsd of bonds and
angles; the input's refinement figures are dropped, and with no data no R-value is
claimed. PDB files get a REMARK 2 and a REMARK 3 in the standard template (gemmi and
cctbx's iotbx read them back); mmCIF files get the same through gemmi's metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gemmi


@dataclass
class RefinementStats:
    """What the header says (None: not known, not written)."""

    program: str = "mainpy"
    version: str = ""
    d_high: float | None = None
    d_low: float | None = None
    n_work: int | None = None
    n_free: int | None = None
    r_work: float | None = None
    r_free: float | None = None
    r_free_error: float | None = None   # its standard error (rfactors.r_factor_error)
    rmsd_bond: float | None = None
    n_bond: int | None = None
    rmsd_angle: float | None = None
    n_angle: int | None = None
    mean_b: float | None = None
    tls: list = field(default_factory=list)    # TLS groups (mainpy.model.tls.TlsGroup)

    @property
    def has_data(self) -> bool:
        return self.d_high is not None


def _remark(text: str) -> str:
    return f"{text:<80}"


def remark_lines(s: RefinementStats) -> list[str]:
    """REMARK 2 and REMARK 3 of a PDB file for these statistics."""
    def f(x, spec):
        return "NULL" if x is None else format(x, spec)

    out = [_remark("REMARK   2"),
           _remark(f"REMARK   2 RESOLUTION. {f(s.d_high, '.2f')} ANGSTROMS." if s.has_data
                   else "REMARK   2 RESOLUTION. NOT APPLICABLE."),
           _remark("REMARK   3"),
           _remark("REMARK   3 REFINEMENT."),
           _remark(f"REMARK   3   PROGRAM     : {s.program.upper()} {s.version}".rstrip())]
    if s.has_data:
        n_all = (s.n_work or 0) + (s.n_free or 0)
        out += [_remark("REMARK   3"),
                _remark("REMARK   3  DATA USED IN REFINEMENT."),
                _remark(f"REMARK   3   RESOLUTION RANGE HIGH (ANGSTROMS) : {f(s.d_high, '.2f')}"),
                _remark(f"REMARK   3   RESOLUTION RANGE LOW  (ANGSTROMS) : {f(s.d_low, '.2f')}"),
                _remark(f"REMARK   3   NUMBER OF REFLECTIONS             : {n_all}"),
                _remark("REMARK   3"),
                _remark("REMARK   3  FIT TO DATA USED IN REFINEMENT."),
                _remark("REMARK   3   CROSS-VALIDATION METHOD          : THROUGHOUT"),
                _remark("REMARK   3   FREE R VALUE TEST SET SELECTION  : "
                        + ("GIVEN" if s.n_free else "NONE")),
                _remark(f"REMARK   3   R VALUE            (WORKING SET) : {f(s.r_work, '.4f')}"),
                _remark(f"REMARK   3   FREE R VALUE                     : {f(s.r_free, '.4f')}"),
                _remark(f"REMARK   3   FREE R VALUE TEST SET COUNT      : {f(s.n_free, 'd')}")]
        if s.r_free_error is not None:     # the line of CNS's template
            out.append(_remark("REMARK   3   ESTIMATED ERROR OF FREE R VALUE  : "
                               f"{s.r_free_error:.4f}"))
    if s.mean_b is not None:
        out += [_remark("REMARK   3"),
                _remark("REMARK   3  B VALUES."),
                _remark(f"REMARK   3   MEAN B VALUE      (OVERALL, A**2) : {s.mean_b:.2f}")]
    if s.rmsd_bond is not None:
        out += [_remark("REMARK   3"),
                _remark("REMARK   3  RMS DEVIATIONS FROM IDEAL TARGET VALUES."),
                _remark(f"REMARK   3   BOND LENGTHS REFINED ATOMS        (A): "
                        f"{s.n_bond or 0:6d} ; {s.rmsd_bond:6.3f}"),
                _remark(f"REMARK   3   BOND ANGLES REFINED ATOMS   (DEGREES): "
                        f"{s.n_angle or 0:6d} ; {s.rmsd_angle:6.3f}")]
    return out


def add_mmcif_items(doc: gemmi.cif.Document, s: RefinementStats) -> None:
    """What gemmi's metadata has no field for, into the written mmCIF document: R-free's
    estimated error (`_refine.ls_R_factor_R_free_error`)."""
    if s.r_free_error is None or len(doc) == 0:
        return
    block = doc.sole_block()
    if len(block.find_mmcif_category("_refine.")) != 1:
        return
    tag, value = "_refine.ls_R_factor_R_free_error", f"{s.r_free_error:.4f}"
    loop = block.find_loop("_refine.ls_R_factor_R_free").get_loop()
    if loop is not None:             # gemmi writes _refine as a loop of one row
        loop.add_columns([tag], value)
    else:
        block.set_pair(tag, value)


def set_refinement_header(st: gemmi.Structure, s: RefinementStats) -> None:
    """Replace the structure's refinement metadata (for mmCIF) and its REMARK 2 / 3
    (for PDB) by these statistics; data-collection items the input had are kept."""
    ri = gemmi.RefinementInfo()
    ri.id = "1"
    if s.has_data:
        ri.resolution_high = s.d_high
        ri.resolution_low = s.d_low
        ri.work_set_count = s.n_work or 0
        ri.rfree_set_count = s.n_free or 0
        ri.reflection_count = (s.n_work or 0) + (s.n_free or 0)
        ri.cross_validation_method = "THROUGHOUT"
        ri.rfree_selection_method = "GIVEN" if s.n_free else "NONE"
        if s.r_work is not None:
            ri.r_work = s.r_work
        if s.r_free is not None and s.n_free:
            ri.r_free = s.r_free
    if s.mean_b is not None:
        ri.mean_b = s.mean_b
    restr = []
    for name, dev, count in (("r_bond_refined_d", s.rmsd_bond, s.n_bond),
                             ("r_angle_refined_deg", s.rmsd_angle, s.n_angle)):
        if dev is not None:
            r = gemmi.RefinementInfo.Restr(name)
            r.dev_ideal = dev
            r.count = count or 0
            restr.append(r)
    ri.restr_stats = restr
    st.meta.refinement = [ri] if (s.has_data or restr) else []
    sw = gemmi.SoftwareItem()
    sw.name = s.program
    sw.version = s.version
    sw.classification = gemmi.SoftwareItem.Classification.Refinement
    refinement = gemmi.SoftwareItem.Classification.Refinement
    st.meta.software = [x for x in st.meta.software if x.classification != refinement] + [sw]
    if s.has_data:
        for e in st.meta.experiments:
            e.reflections.resolution_high = s.d_high
            e.reflections.resolution_low = s.d_low
            e.unique_reflections = (s.n_work or 0) + (s.n_free or 0)
    kept = [r for r in st.raw_remarks if r[:10] not in ("REMARK   2", "REMARK   3")]
    first = [r for r in kept if r[:10] == "REMARK   1"]      # REMARK 1 comes before 2
    st.raw_remarks = first + remark_lines(s) + kept[len(first):]
    if s.tls:
        from mainpy.model.tls import groups_to_structure
        groups_to_structure(st, s.tls)
