//! An example of pullsim in a team's own test suite: `tests/` starts a fake Azure,
//! applies the July 2021 recipe and the team's scenario (`scenarios/`), pulls and
//! explains, through pullsim's public API only. The library itself is empty.
