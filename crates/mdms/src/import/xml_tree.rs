//! A minimal namespace-aware element tree built with quick-xml, for documents small enough
//! to hold in memory (a Green Button file of a usage point). Text of an element is the
//! concatenation of its character data with entity and character references resolved.

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

/// Deepest nesting accepted; ESPI documents are about eight levels deep.
const MAX_DEPTH: usize = 64;

/// One XML element.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Element {
    /// Namespace URI, `None` when unbound.
    pub ns: Option<String>,
    /// Local name (without prefix).
    pub name: String,
    /// Attributes by local name (namespace declarations left out), values unescaped.
    pub attributes: Vec<(String, String)>,
    /// Character data directly inside the element, untrimmed.
    pub text: String,
    /// Child elements in document order.
    pub children: Vec<Element>,
}

impl Element {
    /// True when the element is `name` in namespace `ns`.
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns.as_deref() == Some(ns) && self.name == name
    }

    /// Children named `name` in namespace `ns`.
    pub fn children_named<'a>(&'a self, ns: &'a str, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    /// The first child named `name` in namespace `ns`.
    pub fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    /// The value of attribute `name`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Parses a whole document into its root element.
///
/// Errors: a message with the byte position for malformed XML, unknown namespace prefixes
/// or entities, nesting deeper than 64, or a document without exactly one root.
pub(crate) fn parse(text: &str) -> Result<Element, String> {
    let mut reader = NsReader::from_str(text.trim_start_matches('\u{feff}'));
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let position = reader.buffer_position();
        let (ns, event) = match reader.read_resolved_event() {
            Ok((ns, event)) => (namespace(ns).map_err(|m| format!("at byte {position}: {m}")), event),
            Err(e) => return Err(format!("at byte {}: {e}", reader.error_position())),
        };
        match event {
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("at byte {position}: elements nested deeper than {MAX_DEPTH}"));
                }
                stack.push(element(ns?, &start).map_err(|m| format!("at byte {position}: {m}"))?);
            }
            Event::Empty(start) => {
                let el = element(ns?, &start).map_err(|m| format!("at byte {position}: {m}"))?;
                attach(&mut stack, &mut root, el)?;
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| format!("at byte {position}: end tag without start tag"))?;
                attach(&mut stack, &mut root, el)?;
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&c.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(ch)) => ch.to_string(),
                    Ok(None) => quick_xml::escape::resolve_predefined_entity(&r)
                        .ok_or_else(|| format!("at byte {position}: unknown entity &{};", &*r))?
                        .to_string(),
                    Err(e) => return Err(format!("at byte {position}: {e}")),
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err("document ends inside an element".into());
    }
    root.ok_or_else(|| "document has no root element".into())
}

fn namespace(ns: ResolveResult<'_>) -> Result<Option<String>, String> {
    match ns {
        ResolveResult::Bound(ns) => Ok(Some(ns.as_ref().to_string())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(prefix) => Err(format!("unknown namespace prefix {prefix:?}")),
    }
}

fn element(ns: Option<String>, start: &BytesStart<'_>) -> Result<Element, String> {
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| e.to_string())?;
        let key = attribute.key.as_ref();
        if key == "xmlns" || key.starts_with("xmlns:") {
            continue;
        }
        let value = attribute.normalized_value(XmlVersion::Implicit1_0).map_err(|e| e.to_string())?;
        attributes.push((attribute.key.local_name().as_ref().to_string(), value.into_owned()));
    }
    Ok(Element {
        ns,
        name: start.local_name().as_ref().to_string(),
        attributes,
        text: String::new(),
        children: Vec::new(),
    })
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, el: Element) -> Result<(), String> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None if root.is_none() => *root = Some(el),
        None => return Err(format!("a second root element <{}>", el.name)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_text_and_references() {
        let doc = r#"<?xml version="1.0"?>
            <a:feed xmlns:a="urn:a" xmlns="urn:b"><x k="1 &amp; 2">A&amp;B&#x43;<![CDATA[<d>]]></x><y/></a:feed>"#;
        let root = parse(doc).unwrap();
        assert!(root.is("urn:a", "feed"));
        let x = root.child("urn:b", "x").unwrap();
        assert_eq!(x.text, "A&BC<d>");
        assert_eq!(x.attribute("k"), Some("1 & 2"));
        assert_eq!(root.children_named("urn:b", "y").count(), 1);
    }

    #[test]
    fn malformed_documents_are_errors() {
        for bad in
            ["", "<a>", "<a></b>", "<a/><b/>", "<p:a/>", "<a>&nope;</a>", "<a>&#0;</a>", "</a>", &"<a>".repeat(100)]
        {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
