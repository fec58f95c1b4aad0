"""Central differences of an objective through the driver's packed vector (Packer):
the largest relative error of the packed gradient at chosen entries, for the ADP and
riding-hydrogen tests."""


def fd_through_vector(pk, objective, atoms, picks, h=1e-5, floor=1e-3) -> float:
    """max_k |g_k - fd_k| / max(|fd_k|, floor) over the vector entries ``picks``."""
    x0 = pk.pack(atoms)

    def f(x):
        return objective.evaluate(pk.unpack(x, atoms), pk.target_params).total

    ev = objective.evaluate(pk.unpack(x0, atoms), pk.target_params)
    g = pk.gradient(ev.grad, x0)
    worst = 0.0
    for k in picks:
        xp, xm = x0.copy(), x0.copy()
        xp[k] += h
        xm[k] -= h
        fd = (f(xp) - f(xm)) / (2 * h)
        worst = max(worst, abs(g[k] - fd) / max(abs(fd), floor))
    return worst
