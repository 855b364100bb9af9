//! The pictures as an XML parser reads them (roxmltree): an SVG must be well-formed XML —
//! one root, balanced tags, quoted attributes, escaped text, only XML 1.0 characters — and
//! hold no `<script>` element. Included with `#[path = "support/xml.rs"] mod xml;` by the
//! tests, and by the diagram's unit tests.

/// `Ok` when `xml` parses and has no script element; else what is wrong and where.
pub fn xml_well_formed(xml: &str) -> Result<(), String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| e.to_string())?;
    match doc
        .descendants()
        .find(|n| n.tag_name().name().eq_ignore_ascii_case("script"))
    {
        Some(n) => Err(format!("a <script> element at byte {}", n.range().start)),
        None => Ok(()),
    }
}
