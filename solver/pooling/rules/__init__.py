"""The pooling CP-SAT model (solver.pooling.exact._Model), one module per rule of the contract
(docs/solver-io.md, section 1).

- variables: per slot (a segment, region node, quarter and charging standard where lots can be)
  and copy, a LotCopy: its lots (aggregate: how many; explicit: one lot, used or not) and, per
  class of alike lines that fits the slot, the items it takes (whole lines, or vehicles of
  splittable lines);
- lot_size: each lot holds between min_lot_quantity and max_lot_quantity vehicles;
- supply: a class gives at most what it has (a line that is not splittable goes into one lot).
Compatibility (one segment, the lot's region at most max_levels_up above each member, a common
window, an accepted charging standard) is not a constraint: the slots (solver.pooling.components)
only ever hold classes that fit them. _Model calls these modules in a fixed order, which fixes
the model byte for byte.
"""
