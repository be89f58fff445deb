"""The award's CP-SAT model, one module per rule of the contract (docs/solver-io.md, section 2).

- variables: the typed variable families (a tier chosen, a package chosen, a line's allocation
  from a source, a supplier winning in a lot) and the Families that holds them;
- tiers: a bid is awarded at one tier at most, within that tier's quantity band (all-units price);
- packages: a package is all-or-nothing, each item at its exact quantity;
- line_service: a line gets at most its quantity (whole service: from one source);
- capacity: a supplier's vehicles stay within its capacity;
- winners: at most max_winners_per_lot suppliers win in a lot;
- share_caps: no supplier wins more than its share of a lot's demand.
- symmetry (not a rule): interchangeable lines ordered, in the price proof's model only.
Reserve prices and exclusions are not constraints: the pre-processing (solver.award.prep)
creates no allocation they forbid. solver.award.cpsat.AwardModel calls these modules in a
fixed order, which fixes the model's variables and constraints (and so its results) byte for byte.
"""
