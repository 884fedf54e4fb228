//! Lesson text ([`lesson::Block`]s) as elements. Text is always text:
//! nothing from a lesson is parsed as HTML.

use crate::lesson::player::step_link;
use leptos::prelude::*;
use lesson::{Block, Inline, Target};

pub fn blocks(blocks: &[Block]) -> AnyView {
    blocks.iter().map(block).collect_view().into_any()
}

fn block(b: &Block) -> AnyView {
    match b {
        Block::Para(i) => view! { <p>{inlines(i)}</p> }.into_any(),
        // Step titles are h3 in the player; headings inside a step go below.
        Block::Heading(_, i) => view! { <h4>{inlines(i)}</h4> }.into_any(),
        Block::List { ordered: true, items } => {
            view! { <ol>{items.iter().map(|it| view! { <li>{blocks(it)}</li> }).collect_view()}</ol> }.into_any()
        }
        Block::List { ordered: false, items } => {
            view! { <ul>{items.iter().map(|it| view! { <li>{blocks(it)}</li> }).collect_view()}</ul> }.into_any()
        }
        Block::Code(t) => view! { <pre><code>{t.clone()}</code></pre> }.into_any(),
        Block::Quote(b) => view! { <blockquote>{blocks(b)}</blockquote> }.into_any(),
    }
}

pub fn inlines(inlines: &[Inline]) -> AnyView {
    inlines.iter().map(inline).collect_view().into_any()
}

fn inline(i: &Inline) -> AnyView {
    match i {
        Inline::Text(t) => t.clone().into_any(),
        Inline::Code(t) => view! { <code>{t.clone()}</code> }.into_any(),
        Inline::Emph(b) => view! { <em>{inlines(b)}</em> }.into_any(),
        Inline::Strong(b) => view! { <strong>{inlines(b)}</strong> }.into_any(),
        Inline::Break => view! { <br /> }.into_any(),
        Inline::Link { target, body } => match Target::parse(target) {
            Ok(Target::Lesson { id, step }) => {
                view! { <a href=step_link(id, step.unwrap_or(1) - 1)>{inlines(body)}</a> }.into_any()
            }
            Ok(Target::Example(id)) => view! { <a href=format!("#example/{id}")>{inlines(body)}</a> }.into_any(),
            Ok(Target::Web(url)) => view! {
                <a href=url.to_string() target="_blank" rel="noopener noreferrer">{inlines(body)}</a>
            }
            .into_any(),
            // Checked when the app was built; shown as text if not.
            Err(_) => inlines(body),
        },
    }
}

/// Plain text with `code` in backticks (goal texts, predict questions and
/// options), as text and `<code>` elements.
pub fn code_spans(text: &str) -> AnyView {
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                view! { <code>{part.to_string()}</code> }.into_any()
            } else {
                part.to_string().into_any()
            }
        })
        .collect_view()
        .into_any()
}
