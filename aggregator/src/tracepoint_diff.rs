//! The tracepoint kind's diff: how one tracepoint's rows (`tracepoints`
//! table) compare between the two images of a pair. A tracepoint is added
//! or removed; its arguments (what `raw_tp`/`tp_btf` programs receive) are
//! added, removed, reordered or retyped, matched as function parameters
//! are; its trace event appears or goes (`tracepoint/` programs need
//! one); its class changes; or the event record struct it keeps
//! (`trace_event_raw_<class>`, what `tracepoint/` programs read) has
//! changes in the pair's `type_changes`.

use ksurf_dataset::{Dataset, DependencyKind, ImageId};

use crate::aggregate::presence_of;
use crate::interface_diff::{
    decode_params, prototype_changes, InterfaceChange, InterfaceDiff, PairFacts, PrototypeLabels,
};
use crate::model::Param;
use crate::report::code;
use crate::tables::Columns;
use crate::type_diff::TypeCursor;
use crate::Result;

pub const ADDED: &str = "Tracepoint added";
pub const REMOVED: &str = "Tracepoint removed";
pub const EVENT_ADDED: &str = "Trace event added";
pub const EVENT_REMOVED: &str = "Trace event removed";
pub const CLASS_CHANGED: &str = "Class changed";
pub const EVENT_STRUCT_CHANGED: &str = "Event struct changed";

/// The labels of argument changes.
pub const ARG_LABELS: PrototypeLabels = PrototypeLabels {
    added: "Argument added",
    removed: "Argument removed",
    reordered: "Arguments reordered",
    retyped: "Argument type changed",
};

/// One row of `tracepoints`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tracepoint {
    pub system: Option<String>,
    pub class: Option<String>,
    pub has_event: bool,
    /// The arguments without `void *__data`; `None` when DWARF had none.
    pub args: Option<Vec<Param>>,
    pub event_struct: Option<String>,
}

/// `(type name, …)` of a parameter list, as C declares them.
pub fn param_text(params: &[Param]) -> String {
    params
        .iter()
        .map(|p| crate::report::declaration(&p.ty, p.name.as_deref()))
        .collect::<Vec<_>>()
        .join(", ")
}

pub struct TracepointDiff;

impl InterfaceDiff for TracepointDiff {
    const KIND: DependencyKind = DependencyKind::Tracepoint;
    type Record = Tracepoint;

    fn decode(c: &Columns<'_>, row: usize) -> Tracepoint {
        Tracepoint {
            system: c.opt_str("system", row).map(str::to_owned),
            class: c.opt_str("class", row).map(str::to_owned),
            has_event: c.bool("has_event", row),
            args: decode_params(c, "args", row),
            event_struct: c.opt_str("event_struct", row).map(str::to_owned),
        }
    }

    /// The event record struct kept on both sides is compared as the type
    /// kind compares it.
    fn prepare_name(
        dataset: &Dataset,
        old_image: &ImageId,
        new_image: &ImageId,
        old: &[Tracepoint],
        new: &[Tracepoint],
        facts: &mut PairFacts,
    ) -> Result<()> {
        let (Some(o), Some(n)) = (old.first(), new.first()) else {
            return Ok(());
        };
        let Some(s) = n
            .event_struct
            .as_deref()
            .filter(|s| o.event_struct.as_deref() == Some(*s))
        else {
            return Ok(());
        };
        let defs = |image: &ImageId| -> Result<_> {
            let mut cursor = TypeCursor::open(dataset, image, Some(s))?;
            Ok(presence_of(&mut cursor, s)?.unwrap_or_default())
        };
        if !crate::type_diff::compare(&defs(old_image)?, &defs(new_image)?).is_empty() {
            facts.changed_event_structs.insert(s.to_owned());
        }
        Ok(())
    }

    fn describe(name: &str, rows: &[Tracepoint]) -> Vec<String> {
        let mut out = Vec::new();
        for t in rows {
            if let Some(args) = &t.args {
                out.push(format!("**Arguments:** {}", code(&param_text(args))));
            }
            let system = t.system.as_deref().unwrap_or("?");
            let mut attach = Vec::new();
            if t.has_event {
                attach.push(code(&format!("tracepoint/{system}/{name}")));
            }
            attach.push(code(&format!("raw_tp/{name}")));
            attach.push(code(&format!("tp_btf/{name}")));
            out.push(format!(
                "**System:** {}, **class:** {}; **attach as:** {}{}",
                code(system),
                code(t.class.as_deref().unwrap_or("?")),
                attach.join(", "),
                if t.has_event {
                    ""
                } else {
                    " (bare tracepoint: no trace event)"
                }
            ));
            if let Some(s) = &t.event_struct {
                out.push(format!(
                    "**Event record:** {}",
                    code(&format!("struct {s}"))
                ));
            }
        }
        out
    }

    fn compare(old: &[Tracepoint], new: &[Tracepoint], facts: &PairFacts) -> Vec<InterfaceChange> {
        let args = |t: &Tracepoint| t.args.as_deref().map(param_text);
        match (old.first(), new.first()) {
            (None, None) => Vec::new(),
            (None, Some(n)) => vec![InterfaceChange::new(ADDED, None, None, args(n))],
            (Some(o), None) => vec![InterfaceChange::new(REMOVED, None, args(o), None)],
            (Some(o), Some(n)) => {
                let mut out = match (&o.args, &n.args) {
                    (Some(oa), Some(na)) => prototype_changes((None, oa), (None, na), &ARG_LABELS),
                    _ => Vec::new(),
                };
                match (o.has_event, n.has_event) {
                    (false, true) => out.push(InterfaceChange::new(EVENT_ADDED, None, None, None)),
                    (true, false) => {
                        out.push(InterfaceChange::new(EVENT_REMOVED, None, None, None))
                    }
                    _ => {}
                }
                if o.class != n.class {
                    out.push(InterfaceChange::new(
                        CLASS_CHANGED,
                        None,
                        o.class.clone(),
                        n.class.clone(),
                    ));
                } else if let Some(s) = &n.event_struct {
                    if o.event_struct.as_ref() == Some(s) && facts.changed_event_structs.contains(s)
                    {
                        out.push(InterfaceChange::new(
                            EVENT_STRUCT_CHANGED,
                            Some(s.clone()),
                            None,
                            None,
                        ));
                    }
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(args: &[(&str, &str)], has_event: bool, class: &str) -> Tracepoint {
        Tracepoint {
            system: Some("skb".into()),
            class: Some(class.into()),
            has_event,
            args: Some(
                args.iter()
                    .map(|(n, t)| Param {
                        name: Some((*n).into()),
                        ty: (*t).into(),
                    })
                    .collect(),
            ),
            event_struct: Some(format!("trace_event_raw_{class}")),
        }
    }

    fn rows(changes: Vec<InterfaceChange>) -> Vec<String> {
        changes
            .into_iter()
            .map(|c| {
                format!(
                    "{} | {} | {} | {}",
                    c.change,
                    c.subject.unwrap_or_default(),
                    c.old.unwrap_or_default(),
                    c.new.unwrap_or_default()
                )
            })
            .collect()
    }

    #[test]
    fn kfree_skb_gains_reason_then_rx_sk() {
        let v510 = tp(
            &[("skb", "struct sk_buff *"), ("location", "void *")],
            true,
            "kfree_skb",
        );
        let v61 = tp(
            &[
                ("skb", "struct sk_buff *"),
                ("location", "void *"),
                ("reason", "enum skb_drop_reason"),
            ],
            true,
            "kfree_skb",
        );
        let mut facts = PairFacts::default();
        assert_eq!(
            rows(TracepointDiff::compare(
                std::slice::from_ref(&v510),
                std::slice::from_ref(&v61),
                &facts
            )),
            ["Argument added | reason |  | enum skb_drop_reason"]
        );
        facts
            .changed_event_structs
            .insert("trace_event_raw_kfree_skb".into());
        assert_eq!(
            rows(TracepointDiff::compare(
                std::slice::from_ref(&v61),
                std::slice::from_ref(&v61),
                &facts
            )),
            ["Event struct changed | trace_event_raw_kfree_skb |  | "]
        );
        assert_eq!(
            rows(TracepointDiff::compare(
                &[],
                std::slice::from_ref(&v510),
                &facts
            )),
            ["Tracepoint added |  |  | struct sk_buff *skb, void *location"]
        );
        assert_eq!(
            rows(TracepointDiff::compare(&[v510], &[], &facts)),
            ["Tracepoint removed |  | struct sk_buff *skb, void *location | "]
        );
    }

    #[test]
    fn event_and_class_changes() {
        let facts = PairFacts::default();
        let old = tp(&[("rq", "struct request *")], true, "block_rq");
        let bare = tp(&[("rq", "struct request *")], false, "block_rq");
        assert_eq!(
            rows(TracepointDiff::compare(
                std::slice::from_ref(&old),
                &[bare],
                &facts
            )),
            ["Trace event removed |  |  | "]
        );
        let moved = tp(
            &[("q", "struct request_queue *"), ("rq", "struct request *")],
            true,
            "block_rq_insert",
        );
        assert_eq!(
            rows(TracepointDiff::compare(&[old], &[moved], &facts)),
            [
                "Argument added | q |  | struct request_queue *",
                "Class changed |  | block_rq | block_rq_insert"
            ]
        );
    }
}
