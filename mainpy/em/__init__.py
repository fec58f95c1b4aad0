"""EM maps and half maps in a box that is not a crystal cell: reading, trimming,
writing (mapfile), FSC and map-model figures (fsc), the Fourier-space SPA target
(target) and simulated maps (simulate)."""
