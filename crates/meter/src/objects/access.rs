//! Access rights of attributes and methods as the Association LN object lists them
//! (IEC 62056-6-2 §4.4, Association LN (class_id 15) version 1, `access_rights`: `attribute_access_item` and
//! `method_access_item`). The dispatcher checks every request against the same table, so the
//! advertised rights and the behaviour cannot disagree.

/// `access_mode` of an attribute (class 15 version 1 enumeration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum AttributeAccessMode {
    /// (0) no_access.
    NoAccess = 0,
    /// (1) read_only.
    Read = 1,
    /// (2) write_only.
    Write = 2,
    /// (3) read_and_write.
    ReadWrite = 3,
}

impl AttributeAccessMode {
    /// Whether GET is allowed.
    pub fn can_read(self) -> bool {
        matches!(self, AttributeAccessMode::Read | AttributeAccessMode::ReadWrite)
    }

    /// Whether SET is allowed.
    pub fn can_write(self) -> bool {
        matches!(self, AttributeAccessMode::Write | AttributeAccessMode::ReadWrite)
    }
}

/// `access_mode` of a method (class 15 version 1 enumeration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MethodAccessMode {
    /// (0) no_access.
    NoAccess = 0,
    /// (1) access.
    Access = 1,
}

/// One `attribute_access_item`: attribute index, access mode and the access selectors the
/// attribute supports for selective access (empty = none, encoded as null-data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttributeAccess {
    /// Attribute index (1 = logical_name).
    pub attribute_id: i8,
    /// Access mode.
    pub mode: AttributeAccessMode,
    /// Supported access selectors (Profile generic buffer: 1 range, 2 entry).
    pub selectors: &'static [u8],
}

/// One `method_access_item`: method index and access mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MethodAccess {
    /// Method index, 1-based.
    pub method_id: i8,
    /// Access mode.
    pub mode: MethodAccessMode,
}

/// Shorthand for a table entry without selectors.
pub(crate) const fn attr(attribute_id: i8, mode: AttributeAccessMode) -> AttributeAccess {
    AttributeAccess { attribute_id, mode, selectors: &[] }
}

/// Shorthand for a method table entry.
pub(crate) const fn method(method_id: i8, mode: MethodAccessMode) -> MethodAccess {
    MethodAccess { method_id, mode }
}
