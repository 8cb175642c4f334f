//! A thin element-level layer over quick-xml's writer for the XML exports: start/end tags,
//! text-only elements and empty elements, with escaping done by quick-xml.

use std::io::Write;

use jiff::Timestamp;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

/// An indented XML document being written to `W`.
pub(crate) struct XmlOut<W: Write> {
    writer: Writer<W>,
}

impl<W: Write> XmlOut<W> {
    /// Starts a document with the XML 1.0 UTF-8 declaration, indented by two spaces.
    pub(crate) fn new(out: W) -> std::io::Result<Self> {
        let mut writer = Writer::new_with_indent(out, b' ', 2);
        writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        Ok(XmlOut { writer })
    }

    /// `<name a="v" ...>`.
    pub(crate) fn start(&mut self, name: &str, attributes: &[(&str, &str)]) -> std::io::Result<()> {
        let start = BytesStart::new(name).with_attributes(attributes.iter().copied());
        self.writer.write_event(Event::Start(start))
    }

    /// `</name>`.
    pub(crate) fn end(&mut self, name: &str) -> std::io::Result<()> {
        self.writer.write_event(Event::End(BytesEnd::new(name)))
    }

    /// `<name a="v" .../>`.
    pub(crate) fn empty(&mut self, name: &str, attributes: &[(&str, &str)]) -> std::io::Result<()> {
        let start = BytesStart::new(name).with_attributes(attributes.iter().copied());
        self.writer.write_event(Event::Empty(start))
    }

    /// `<name>text</name>`, with `text` escaped.
    pub(crate) fn text(&mut self, name: &str, text: &str) -> std::io::Result<()> {
        self.writer.write_event(Event::Start(BytesStart::new(name)))?;
        self.writer.write_event(Event::Text(BytesText::new(text)))?;
        self.writer.write_event(Event::End(BytesEnd::new(name)))
    }

    /// `<name>2025-01-01T00:15:00Z</name>`: an `xs:dateTime` in UTC.
    pub(crate) fn date_time(&mut self, name: &str, at: Timestamp) -> std::io::Result<()> {
        self.text(name, &at.to_string())
    }

    /// Ends the document with a newline and returns the output.
    pub(crate) fn finish(mut self) -> std::io::Result<W> {
        self.writer.get_mut().write_all(b"\n")?;
        Ok(self.writer.into_inner())
    }
}
