//! `--output timeline`: a run on the virtual clock, a row per state.

use super::Machine;

/// The timeline SVG.
pub fn draw(machine: &Machine) -> String {
    super::svg::draw(machine)
}
