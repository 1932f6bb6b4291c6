//! C declarations rendered from DWARF types: function prototypes
//! (`struct page *kimage_alloc_page(struct kimage *image, gfp_t gfp_mask,
//! long unsigned int destination);`), return types and parameter types.
//!
//! Types are read on demand by section offset and memoised per renderer;
//! a renderer is used by one thread over the prototypes of one unit.

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use gimli::{constants, AttributeValue};

use super::walk::reference;
use super::{unit_index_of, CompileUnit, DieOffset, Reader};
use crate::limits::clip;

/// Nesting deeper than this is treated as a reference cycle.
const MAX_TYPE_DEPTH: usize = 48;
/// Longer type names are cut: hostile DWARF can describe types whose
/// names grow exponentially with their depth.
const MAX_TYPE_NAME: usize = 1024;
/// Longer prototypes are cut, and declarators that grow past it stop
/// growing: each entry owns its prototype, and many entries can share one
/// prototype DIE, so the cost of a long one is multiplied.
const MAX_DECLARATION: usize = 4096;
/// Parameters read per subprogram or function type; C compilers must take
/// 127, the kernel's widest function takes about 20.
const MAX_PARAMS: usize = 128;
/// A signature whose text (prototype, return and parameter types and names)
/// is longer than this is dropped: many entries can share one prototype DIE,
/// each owning its rendering, so this bounds the output per entry. The
/// kernel's longest prototypes are a few hundred bytes.
const MAX_SIGNATURE: usize = 16 * 1024;

/// A function's signature as DWARF states it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Signature {
    pub prototype: String,
    pub return_type: String,
    /// (name, type) per formal parameter, in order.
    pub params: Vec<(Option<String>, String)>,
    pub variadic: bool,
}

/// The shape of one type DIE.
#[derive(Clone, Debug)]
enum TypeShape {
    /// Anything referred to by name: base types, typedefs, tagged types.
    Named(String),
    Pointer(Option<DieOffset>),
    Qualified(&'static str, Option<DieOffset>),
    Array(Option<DieOffset>, Vec<Option<u64>>),
    Function {
        ret: Option<DieOffset>,
        params: Vec<Option<DieOffset>>,
        variadic: bool,
        prototyped: bool,
    },
}

pub struct TypeRenderer<'a, 'd> {
    dwarf: &'a gimli::Dwarf<Reader<'d>>,
    units: &'a [CompileUnit<'d>],
    shapes: HashMap<DieOffset, TypeShape>,
    /// Abstract declarations (`int (*)(void *)`) by type, for parameter lists.
    names: HashMap<DieOffset, Arc<str>>,
    /// Subprogram DIEs already read: many entries can share one.
    parts: HashMap<DieOffset, Option<Arc<SubprogramParts>>>,
}

/// Return type, (name, type) parameters and variadic flag of a subprogram.
type SubprogramParts = (
    Option<DieOffset>,
    Vec<(Option<String>, Option<DieOffset>)>,
    bool,
);

impl<'a, 'd> TypeRenderer<'a, 'd> {
    pub fn new(dwarf: &'a gimli::Dwarf<Reader<'d>>, units: &'a [CompileUnit<'d>]) -> Self {
        TypeRenderer {
            dwarf,
            units,
            shapes: HashMap::default(),
            names: HashMap::default(),
            parts: HashMap::default(),
        }
    }

    /// The signature of the subprogram DIE at `offset`, declared as `name`.
    pub fn signature(&mut self, offset: DieOffset, name: &str) -> Option<Signature> {
        let parts = match self.parts.get(&offset) {
            Some(parts) => parts.clone(),
            None => {
                let parts = self.subprogram_parts(offset).map(Arc::new);
                self.parts.insert(offset, parts.clone());
                parts
            }
        }?;
        let (ret, params, variadic) = &*parts;
        let (ret, variadic) = (*ret, *variadic);
        let param_types: Vec<(Option<String>, String)> = params
            .iter()
            .map(|(pname, ty)| (pname.clone(), self.type_name(*ty)))
            .collect();
        let mut list: Vec<String> = params
            .iter()
            .map(|(pname, ty)| self.declare(*ty, pname.as_deref().unwrap_or(""), 0))
            .collect();
        if variadic {
            list.push("...".to_owned());
        }
        if list.is_empty() {
            list.push("void".to_owned());
        }
        let prototype = format!(
            "{};",
            self.declare(
                ret,
                &clip(format!("{name}({})", join_list(&list)), MAX_DECLARATION),
                0
            )
        );
        let prototype = clip(prototype, MAX_DECLARATION);
        let signature = Signature {
            prototype,
            return_type: self.type_name(ret),
            params: param_types,
            variadic,
        };
        let size = signature.prototype.len()
            + signature.return_type.len()
            + signature
                .params
                .iter()
                .map(|(n, t)| n.as_ref().map_or(0, String::len) + t.len())
                .sum::<usize>();
        (size <= MAX_SIGNATURE).then_some(signature)
    }

    fn locate(&self, offset: DieOffset) -> Option<(&'a CompileUnit<'d>, gimli::UnitOffset<usize>)> {
        let cu = &self.units[unit_index_of(self.units, offset)?];
        Some((cu, cu.local(offset)?))
    }

    /// Return type, (name, type) parameters and variadic flag of a subprogram;
    /// `None` past [`MAX_PARAMS`] parameters.
    fn subprogram_parts(&self, offset: DieOffset) -> Option<SubprogramParts> {
        let (cu, local) = self.locate(offset)?;
        let mut tree = cu.unit.entries_tree(Some(local)).ok()?;
        let root = tree.root().ok()?;
        let ret = root
            .entry()
            .attr_value(constants::DW_AT_type)
            .and_then(|v| reference(cu, v));
        let mut params = Vec::new();
        let mut variadic = false;
        let mut children = root.children();
        while let Ok(Some(child)) = children.next() {
            let entry = child.entry();
            match entry.tag() {
                constants::DW_TAG_formal_parameter => {
                    if params.len() == MAX_PARAMS {
                        return None;
                    }
                    let name = entry
                        .attr_value(constants::DW_AT_name)
                        .and_then(|v| self.dwarf.attr_string(&cu.unit, v).ok())
                        .map(|s| clip(s.to_string_lossy().into_owned(), MAX_TYPE_NAME));
                    let ty = entry
                        .attr_value(constants::DW_AT_type)
                        .and_then(|v| reference(cu, v));
                    params.push((name, ty));
                }
                constants::DW_TAG_unspecified_parameters => variadic = true,
                _ => {}
            }
        }
        Some((ret, params, variadic))
    }

    fn shape(&mut self, offset: DieOffset) -> TypeShape {
        if let Some(shape) = self.shapes.get(&offset) {
            return shape.clone();
        }
        let shape = self
            .read_shape(offset)
            .unwrap_or_else(|| TypeShape::Named(format!("<bad type at {:#x}>", offset.0)));
        self.shapes.insert(offset, shape.clone());
        shape
    }

    fn read_shape(&self, offset: DieOffset) -> Option<TypeShape> {
        let (cu, local) = self.locate(offset)?;
        let mut tree = cu.unit.entries_tree(Some(local)).ok()?;
        let root = tree.root().ok()?;
        let entry = root.entry();
        let inner = entry
            .attr_value(constants::DW_AT_type)
            .and_then(|v| reference(cu, v));
        let name = entry
            .attr_value(constants::DW_AT_name)
            .and_then(|v| self.dwarf.attr_string(&cu.unit, v).ok())
            .map(|s| s.to_string_lossy().into_owned());
        let tagged = |keyword: &str| {
            TypeShape::Named(format!("{keyword} {}", name.as_deref().unwrap_or("{...}")))
        };
        Some(match entry.tag() {
            constants::DW_TAG_base_type | constants::DW_TAG_typedef => {
                TypeShape::Named(name.unwrap_or_else(|| "<anon>".to_owned()))
            }
            constants::DW_TAG_unspecified_type => {
                TypeShape::Named(name.unwrap_or_else(|| "void".to_owned()))
            }
            constants::DW_TAG_structure_type => tagged("struct"),
            constants::DW_TAG_union_type => tagged("union"),
            constants::DW_TAG_enumeration_type => tagged("enum"),
            constants::DW_TAG_class_type => tagged("class"),
            constants::DW_TAG_pointer_type | constants::DW_TAG_reference_type => {
                TypeShape::Pointer(inner)
            }
            constants::DW_TAG_const_type => TypeShape::Qualified("const", inner),
            constants::DW_TAG_volatile_type => TypeShape::Qualified("volatile", inner),
            constants::DW_TAG_restrict_type => TypeShape::Qualified("restrict", inner),
            constants::DW_TAG_atomic_type => TypeShape::Qualified("_Atomic", inner),
            constants::DW_TAG_array_type => {
                let mut dims = Vec::new();
                let mut children = root.children();
                while let Ok(Some(child)) = children.next() {
                    let e = child.entry();
                    if e.tag() != constants::DW_TAG_subrange_type {
                        continue;
                    }
                    let count = e
                        .attr_value(constants::DW_AT_count)
                        .and_then(|v| v.udata_value())
                        .or_else(|| {
                            e.attr_value(constants::DW_AT_upper_bound)
                                .and_then(|v| match v {
                                    AttributeValue::Sdata(-1) => None,
                                    v => v.udata_value(),
                                })
                                .map(|upper| upper.wrapping_add(1))
                        });
                    dims.push(count);
                }
                if dims.is_empty() {
                    dims.push(None);
                }
                TypeShape::Array(inner, dims)
            }
            constants::DW_TAG_subroutine_type => {
                let prototyped = matches!(
                    entry.attr_value(constants::DW_AT_prototyped),
                    Some(AttributeValue::Flag(true))
                );
                let mut params = Vec::new();
                let mut variadic = false;
                let mut children = root.children();
                while let Ok(Some(child)) = children.next() {
                    let e = child.entry();
                    match e.tag() {
                        constants::DW_TAG_formal_parameter if params.len() == MAX_PARAMS => {
                            return None;
                        }
                        constants::DW_TAG_formal_parameter => params.push(
                            e.attr_value(constants::DW_AT_type)
                                .and_then(|v| reference(cu, v)),
                        ),
                        constants::DW_TAG_unspecified_parameters => variadic = true,
                        _ => {}
                    }
                }
                TypeShape::Function {
                    ret: inner,
                    params,
                    variadic,
                    prototyped,
                }
            }
            other => TypeShape::Named(format!("<{}>", other)),
        })
    }

    /// The abstract declaration of a type (`const char *`), computed once
    /// per type; a type that reaches itself while being named reads
    /// `<type cycle>`.
    pub fn type_name(&mut self, ty: Option<DieOffset>) -> String {
        self.shared_type_name(ty).to_string()
    }

    /// [`TypeRenderer::type_name`], shared: the renderer keeps one copy per
    /// type DIE, so naming the members of thousands of types allocates
    /// nothing once a type was named.
    pub fn shared_type_name(&mut self, ty: Option<DieOffset>) -> Arc<str> {
        let Some(offset) = ty else {
            return Arc::from("void");
        };
        if let Some(name) = self.names.get(&offset) {
            return name.clone();
        }
        self.names.insert(offset, Arc::from("<type cycle>"));
        let name: Arc<str> = Arc::from(clip(self.declare(ty, "", 0), MAX_TYPE_NAME));
        self.names.insert(offset, name.clone());
        name
    }

    /// Declares `declarator` (a name, or empty for an abstract declarator)
    /// with type `ty`, as C writes it.
    pub fn declare(&mut self, ty: Option<DieOffset>, declarator: &str, depth: usize) -> String {
        let Some(offset) = ty else {
            return join("void", declarator);
        };
        if depth > MAX_TYPE_DEPTH {
            return join("<type cycle>", declarator);
        }
        if declarator.len() > MAX_DECLARATION {
            return join("<type too long>", declarator);
        }
        match self.shape(offset) {
            TypeShape::Named(name) => join(&name, declarator),
            TypeShape::Pointer(inner) => self.declare(inner, &format!("*{declarator}"), depth + 1),
            TypeShape::Qualified(qualifier, inner) => {
                let inner_is_pointer =
                    matches!(inner.map(|i| self.shape(i)), Some(TypeShape::Pointer(_)));
                if inner_is_pointer {
                    let declarator = if declarator.is_empty() {
                        qualifier.to_owned()
                    } else {
                        format!("{qualifier} {declarator}")
                    };
                    self.declare(inner, &declarator, depth + 1)
                } else {
                    format!("{qualifier} {}", self.declare(inner, declarator, depth + 1))
                }
            }
            TypeShape::Array(elem, dims) => {
                let mut d = parenthesize_pointer(declarator);
                for dim in dims {
                    match dim {
                        Some(n) => d.push_str(&format!("[{n}]")),
                        None => d.push_str("[]"),
                    }
                }
                self.declare(elem, &d, depth + 1)
            }
            TypeShape::Function {
                ret,
                params,
                variadic,
                prototyped,
            } => {
                let mut list: Vec<String> = params.iter().map(|p| self.type_name(*p)).collect();
                if variadic {
                    list.push("...".to_owned());
                }
                if list.is_empty() && prototyped {
                    list.push("void".to_owned());
                }
                let d = format!("{}({})", parenthesize_pointer(declarator), join_list(&list));
                self.declare(ret, &d, depth + 1)
            }
        }
    }
}

/// `*p` becomes `(*p)` where a suffix declarator (array, function) follows.
fn parenthesize_pointer(declarator: &str) -> String {
    if declarator.starts_with('*') {
        format!("({declarator})")
    } else {
        declarator.to_owned()
    }
}

/// `a, b, c`, cut once past [`MAX_DECLARATION`] bytes.
fn join_list(list: &[String]) -> String {
    let mut out = String::new();
    for (i, item) in list.iter().enumerate() {
        if out.len() > MAX_DECLARATION {
            out.push_str(", ...");
            break;
        }
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(item);
    }
    out
}

fn join(base: &str, declarator: &str) -> String {
    if declarator.is_empty() {
        base.to_owned()
    } else {
        format!("{base} {declarator}")
    }
}
