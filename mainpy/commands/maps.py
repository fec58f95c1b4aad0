"""MAKE MAP: map arithmetic, map coefficients, masks, averaged kick maps."""

from mainpy.lang.registry import Choice, Clause, Int, Real, Sele, command

ISSUE3 = "the reciprocal-space engine (issue 3)"

_KINDS = ("zero", "set", "from", "2fofc", "fofc", "3fo2fc", "mfodfc", "2mfodfc", "fcalc",
          "mask", "flatten", "sigma", "kick")

command("make", "map", help="make map n: arithmetic, Fourier maps, masks, kick maps",
        lead=(Int("n", help="map number (or a variable such as MAP_FO)"),),
        clauses=(Clause("zero", help="all grid points 0"),
                 Clause("set", (Real("lo"), Real("hi"), Real("value")),
                        help="points with lo <= rho <= hi become value"),
                 Clause("from", (Int("m"), Choice("copy", "add", "subtract", "multiply",
                                                  name="operation")),
                        sub=(Clause("scale", (Real("s"),), help="scale map m first"),),
                        help="combine map m into map n"),
                 Clause("2fofc", help="2Fo-Fc map"), Clause("fofc", help="Fo-Fc map"),
                 Clause("3fo2fc", help="3Fo-2Fc map"),
                 Clause("mfodfc", help="sigmaA-weighted mFo-DFc map"),
                 Clause("2mfodfc", help="sigmaA-weighted 2mFo-DFc map"),
                 Clause("fcalc", help="the model's Fcalc map"),
                 Clause("mask", help="1 within RADIUS of the selected atoms, else 0"),
                 Sele(help="atoms for MASK"),
                 Clause("radius", (Real("r"),), help="mask radius in A"),
                 Clause("flatten", sub=(Clause("mask", (Int("m"),), help="the mask map"),
                                        Clause("value", (Real("v"),),
                                               help="value outside (default: mean)")),
                        help="flatten map n outside mask map m"),
                 Clause("sigma", help="normalize to mean 0, sigma 1"),
                 Clause("kick", (Real("r", optional=True),),
                        sub=(Clause("count", (Int("k"),), help="number of kicked models"),
                             Clause("seed", (Int("s"),), help="random seed")),
                        help="averaged kick map (Praznikar et al. 2009)")),
        needs=(_KINDS,), exclusive=(_KINDS,), pending=ISSUE3,
        examples=("make map MAP_FO zero", "make map MAP_FO set -1 1 9999.",
                  "make map MAP_FO from MAP_ORIG copy"))
