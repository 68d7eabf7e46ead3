"""Tile-level attention programs for the five configurations of the FuseMax study.

Each builder emits ``nb`` query blocks of ``nm`` key chunks (a window; the full program has
``mapping.blocks`` x ``mapping.M1``) as ops holding ``pe2d``, ``pe1d``, ``glb`` and ``dram``.
Overlap comes only from dependencies, FIFO resources and glb allocation:

- 1-pass (``architecture``, ``binding``; ``cascade`` splits the Einsums differently): per tile
  (m1, p1) four ops A = BQK+LM (2D), B = RM+PRM (1D), C = SLN+SLD+SLNV (2D), D = SPD+RD+SPNV+RNV
  (1D); ``cascade`` puts only BQK and SLNV on the 2D array and pays 2D fill/drain on every 2D op.
  ``architecture`` runs one tile at a time (A of a tile waits for the previous tile's C and D) and
  pays one 2D fill/drain per tile, on A: RM cannot start before LM has drained out of the array (the
  artifact's +Architecture model, src/accel/stall_proposal.py, charges exactly one stall of
  LM-latency x array side per tile and no second drain for SLNV). ``binding``
  lets the 2D array run one epoch ahead (A of tile t+1 may start once C of t-1 is done, so BQK of
  the next tile interleaves with SLNV of this one) and makes the 1D array trail by one epoch (D of
  tile t runs after B of tile t+1, so RM/PRM of the next tile never wait behind SPNV/RNV) and pays fill/drain once
  per program, since interleaved Einsums (and the next independent block) keep the array full
  (fusemax.md, section V).
- ``flat``: the fused 3-pass cascade per block of P0 queries: pass 1 QK (2D) and GM (1D); barrier;
  pass 2 SN, SD (1D); barrier; pass 3 A (1D) streaming into AV (2D). Each QK tile is held in glb
  except ``spill_fraction`` of it, which is written to DRAM in pass 1 and read back in passes 2 and
  3 (SN written back in pass 2): FLAT's spilling at long sequences.
- ``unfused``: three kernels separated by barriers: QK (2D, QK to DRAM), softmax (1D, reads QK,
  writes A; a query row is buffered on chip so its three passes read DRAM once), AV (2D, reads A).
Leaves out: the 1/sqrt(E) scale, masking, partial tiles (shapes are multiples of the tile).
"""
from __future__ import annotations

from .common import WORD_BYTES as W, AttentionMapping, Builder, fill_drain, op_cycles


def build_attention(mp: AttentionMapping, arch, nb: int, nm: int):
    if mp.config in ("architecture", "binding", "cascade"):
        return _onepass(mp, arch, nb, nm)
    if mp.config == "flat":
        return _flat(mp, arch, nb, nm)
    return _unfused(mp, arch, nb, nm)


def _lanes(arch, mp):
    u = arch.units["pe2d"]
    return min(u.rows, mp.M0) * min(u.cols, mp.P0), min(arch.units["pe1d"].lanes, mp.P0)


def _onepass(mp: AttentionMapping, arch, nb: int, nm: int):
    b = Builder(f"attention_1pass/{mp.config}")
    E, F, M0, P0, P1 = mp.E, mp.F, mp.M0, mp.P0, mp.P1
    l2, l1 = _lanes(arch, mp)
    fd = fill_drain(arch)
    el = M0 * P0
    split = mp.config == "cascade"
    if split:   # 2D: BQK | SLNV; 1D: LM, RM, SLN, SLD, PRM | SPD, RD, SPNV, RNV
        wA = {"mac": el * E}
        wB = {"max": (M0 - 1) * P0 + P0, "sub": el + P0, "exp": el + P0, "add": (M0 - 1) * P0}
        wC = {"mac": el * F}
    else:       # 2D: BQK, LM | SLN, SLD, SLNV; 1D: RM, PRM | SPD, RD, SPNV, RNV
        wA = {"mac": el * E, "max": (M0 - 1) * P0}
        wB = {"max": P0, "sub": P0, "exp": P0}
        wC = {"sub": el, "exp": el, "add": (M0 - 1) * P0, "mac": el * F}
    wD = {"mul": P0 + P0 * F, "add": P0 + P0 * F}
    lB = l1 if not split else arch.units["pe1d"].lanes
    cA, cB = op_cycles(arch, "pe2d", wA, l2), op_cycles(arch, "pe1d", wB, lB)
    cC, cD = op_cycles(arch, "pe2d", wC, l2), op_cycles(arch, "pe1d", wD, l1)
    cAV = op_cycles(arch, "pe1d", {"div": P0 * F}, l1)
    fd_on_A = mp.config != "binding"                 # a drain stall per tile unless interleaved
    fd_on_C = mp.config == "cascade"                 # cascade: SLNV drains separately too
    trail = mp.config == "binding"      # 1D ops D trail the next tile's B (epoch pipelining)
    state = P1 * P0 * (E + 2 + F) * W    # Q, RM, RD, RNV per query (fusemax.md)
    kv = (E + F) * M0 * W
    prev_q = prev_kv_last = prev_C = prev_D = None   # architecture: one tile at a time
    # double buffering: a block's Q/state loads once the block two back is released, a K/V chunk
    # once the chunk two back is consumed (its last C), so loads never race ahead of compute
    releases: list[int] = []
    kv_consumed: list[int] = []
    for blk in range(nb):
        q = b.add("ldQ", reads={"dram": P1 * P0 * E * W}, writes={"glb": P1 * P0 * E * W},
                  alloc={"glb": state}, deps=(prev_q, _back(releases, 2)))
        prev_q = q
        lastB, lastD = [None] * P1, [None] * P1
        pending = None

        def emit_d(p1, c, bb, after=None):
            return b.add(b.ops[c].name.replace("C", "D", 1), "pe1d", cD, wD, reads={"glb": P0 * F * W + 2 * P0 * W},
                         writes={"glb": P0 * F * W + P0 * W}, deps=(c, bb, lastD[p1], after))
        c_hist: list[int] = []
        for m1 in range(nm):
            ld = b.add("ldKV", reads={"dram": kv}, writes={"glb": kv}, alloc={"glb": kv},
                       deps=(q, prev_kv_last, _back(kv_consumed, 2)))
            prev_kv_last = ld
            for p1 in range(P1):
                first = blk == 0 and m1 == 0 and p1 == 0          # the pipeline starts once
                last = blk == nb - 1 and m1 == nm - 1 and p1 == P1 - 1
                if mp.config == "architecture":
                    gates = (prev_C, prev_D)
                else:   # binding, cascade: the 2D array runs at most one tile ahead
                    gates = (c_hist[-2] if len(c_hist) >= 2 else None,)
                a = b.add(f"A[{blk},{m1},{p1}]", "pe2d", cA + (fd if fd_on_A or first else 0), wA,
                          reads={"glb": (M0 + P0) * E * W}, deps=(ld, q, *gates))
                bb = b.add(f"B[{blk},{m1},{p1}]", "pe1d", cB, wB, reads={"glb": 2 * P0 * W}, writes={"glb": 2 * P0 * W},
                           deps=(a, lastB[p1]))
                c = b.add(f"C[{blk},{m1},{p1}]", "pe2d", cC + (fd if fd_on_C or last else 0), wC,
                          reads={"glb": M0 * F * W}, free={"glb": kv} if p1 == P1 - 1 else None,
                          deps=(a, bb, ld))
                if pending is not None:   # binding: D of the previous tile trails this tile's B
                    lastD[pending[0]] = emit_d(*pending, after=bb)
                    pending = None
                if trail:
                    pending = (p1, c, bb)
                else:
                    lastD[p1] = prev_D = emit_d(p1, c, bb)
                lastB[p1] = bb
                prev_C = c
                if p1 == P1 - 1:
                    kv_consumed.append(c)
                c_hist.append(c)
        if pending is not None:
            lastD[pending[0]] = emit_d(*pending)
            pending = None
        stores = []
        for p1 in range(P1):
            av = b.add(f"AV[{blk},{p1}]", "pe1d", cAV, {"div": P0 * F}, reads={"glb": P0 * (F + 1) * W},
                       deps=(lastD[p1],))
            stores.append(b.add("stO", reads={"glb": P0 * F * W}, writes={"dram": P0 * F * W},
                                deps=(av,)))
        releases.append(b.add("release", free={"glb": state}, deps=tuple(stores)))
    return b.program()


def _back(history: list[int], k: int):
    """The op k steps back in ``history`` (double buffering gates a load on it), or None."""
    return history[-k] if len(history) >= k else None


def _split_bytes(nbytes: int, frac: float) -> tuple[int, int]:
    off = int(round(nbytes * frac))
    return nbytes - off, off


def _flat(mp: AttentionMapping, arch, nb: int, nm: int):
    b = Builder("attention_3pass/flat")
    E, F, M0, P0 = mp.E, mp.F, mp.M0, mp.P0
    l2, l1 = _lanes(arch, mp)
    n1 = arch.units["pe1d"].lanes
    fd = fill_drain(arch)
    el = M0 * P0
    tile = el * W
    on, off = _split_bytes(tile, mp.spill_fraction)
    wQK, wAV = {"mac": el * E}, {"mac": el * F}
    # the first chunk of a row starts the running max / sum: M0 - 1 operators per query, then M0
    wGM0, wGM = {"max": el - P0}, {"max": el}
    wSN0, wSN = {"sub": el, "exp": el, "add": el - P0}, {"sub": el, "exp": el, "add": el}
    wA = {"div": el}
    cQK, cAV = op_cycles(arch, "pe2d", wQK, l2), op_cycles(arch, "pe2d", wAV, l2)
    cGM0, cGM, cSN0, cSN, cA = (op_cycles(arch, "pe1d", w, n1) for w in (wGM0, wGM, wSN0, wSN, wA))
    fixed = P0 * (E + F) * W
    prev_pass1 = None
    for blk in range(nb):
        q = b.add("ldQ", reads={"dram": P0 * E * W}, writes={"glb": P0 * E * W},
                  alloc={"glb": fixed}, deps=(prev_pass1,))
        gm, qks = None, []
        for j in range(nm):
            k = b.add("ldK", reads={"dram": M0 * E * W}, writes={"glb": M0 * E * W},
                      deps=(q, _back(qks, 2)))
            qk = b.add(f"QK[{blk},{j}]", "pe2d", cQK + (fd if j == 0 else 0), wQK, reads={"glb": (M0 + P0) * E * W},
                       writes={"glb": tile, **({"dram": off} if off else {})}, alloc={"glb": on},
                       deps=(k, q))
            qks.append(qk)
            gm = b.add(f"GM[{blk},{j}]", "pe1d", cGM0 if j == 0 else cGM, wGM0 if j == 0 else wGM,
                       reads={"glb": tile}, deps=(qk, gm))
        prev_pass1 = gm
        sn = None
        for j in range(nm):
            sn = b.add(f"SN_SD[{blk},{j}]", "pe1d", cSN0 if j == 0 else cSN, wSN0 if j == 0 else wSN, reads={"glb": on, **({"dram": off} if off else {})},
                       writes={"glb": on, **({"dram": off} if off else {})}, deps=(gm, sn))
        av, avs = None, []
        for j in range(nm):
            v = b.add("ldV", reads={"dram": M0 * F * W}, writes={"glb": M0 * F * W},
                      deps=(sn, _back(avs, 2)))
            a = b.add(f"A[{blk},{j}]", "pe1d", cA, wA, reads={"glb": on, **({"dram": off} if off else {})},
                      writes={"glb": tile}, deps=(sn, v))
            av = b.add(f"AV[{blk},{j}]", "pe2d", cAV + (fd if j == nm - 1 else 0), wAV,
                       reads={"glb": tile + M0 * F * W}, free={"glb": on}, deps=(a, v, av))
            avs.append(av)
        b.add("stO", reads={"glb": P0 * F * W}, writes={"dram": P0 * F * W}, free={"glb": fixed},
              deps=(av,))
    return b.program()


def _unfused(mp: AttentionMapping, arch, nb: int, nm: int):
    b = Builder("attention_3pass/unfused")
    E, F, M0, P0 = mp.E, mp.F, mp.M0, mp.P0
    l2, _ = _lanes(arch, mp)
    n1 = arch.units["pe1d"].lanes
    el = M0 * P0
    tile = el * W
    wQK, wAV = {"mac": el * E}, {"mac": el * F}
    wSM = {"max": el, "sub": el, "exp": el, "add": el, "div": el}
    wSM0 = {**wSM, "max": el - P0, "add": el - P0}   # a row's first chunk starts its max and sum
    cQK, cAV = op_cycles(arch, "pe2d", wQK, l2), op_cycles(arch, "pe2d", wAV, l2)
    cSM0, cSM = op_cycles(arch, "pe1d", wSM0, n1), op_cycles(arch, "pe1d", wSM, n1)
    fd = fill_drain(arch)
    ends = []
    prev, hist, first_qk = None, [], None
    for blk in range(nb):          # kernel 1: QK = Q x K, written to DRAM
        # double-buffered Q (the next block's Q loads once this block's first QK is done) and K
        # (a chunk loads once the QK two chunks back is done), across blocks
        q = b.add("ldQ", reads={"dram": P0 * E * W}, writes={"glb": P0 * E * W}, deps=(first_qk,))
        for j in range(nm):
            k = b.add("ldK", reads={"dram": M0 * E * W}, writes={"glb": M0 * E * W},
                      deps=(q, _back(hist, 2)))
            prev = b.add(f"QK[{blk},{j}]", "pe2d", cQK + (fd if blk == 0 and j == 0 else 0), wQK,
                         reads={"glb": (M0 + P0) * E * W}, writes={"glb": tile}, deps=(k, prev))
            hist.append(prev)
            if j == 0:
                first_qk = prev
            ends.append(b.add("stQK", reads={"glb": tile}, writes={"dram": tile}, deps=(prev,)))
    barrier = b.add("barrier", deps=tuple(ends))
    ends, hist = [], []
    for blk in range(nb):          # kernel 2: 3-pass softmax on the 1D array, QK in, A out
        for j in range(nm):
            ld = b.add("ldQK", reads={"dram": tile}, writes={"glb": tile},
                       deps=(barrier, _back(hist, 2)))
            sm = b.add(f"softmax[{blk},{j}]", "pe1d", cSM0 if j == 0 else cSM, wSM0 if j == 0 else wSM, reads={"glb": 3 * tile}, writes={"glb": 2 * tile},
                       deps=(ld, _back(hist, 1)))
            hist.append(sm)
            ends.append(b.add("stA", reads={"glb": tile}, writes={"dram": tile}, deps=(sm,)))
    barrier = b.add("barrier", deps=tuple(ends))
    ends, hist = [], []
    for blk in range(nb):          # kernel 3: AV = A x V
        for j in range(nm):
            ld = b.add("ldA_V", reads={"dram": tile + M0 * F * W}, writes={"glb": tile + M0 * F * W},
                       deps=(barrier, _back(hist, 2)))
            prev = b.add(f"AV[{blk},{j}]", "pe2d", cAV + (fd if blk == nb - 1 and j == nm - 1 else 0), wAV,
                         reads={"glb": tile + M0 * F * W}, deps=(ld, _back(hist, 1)))
            hist.append(prev)
        ends.append(b.add("stO", reads={"glb": P0 * F * W}, writes={"dram": P0 * F * W}, deps=(prev,)))
    return b.program()
