//! Lesson Markdown to [`Block`]s. Raw HTML, images and tables are refused:
//! the app draws lesson text with its own elements, and a lesson needs
//! nothing else.

use crate::model::{Block, Inline, Target};
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// What the top level of a lesson file holds besides text: the step
/// headings (`## ...`) and each step's ```` ```step ```` block.
#[derive(Debug)]
pub enum Item {
    Block(Block),
    StepHeading(Vec<Inline>),
    StepData(String),
}

type Events<'a> = std::iter::Peekable<pulldown_cmark::OffsetIter<'a>>;

/// A problem with the line it is on.
pub struct MdError {
    pub line: usize,
    pub message: String,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Parses a whole lesson body (after the front matter). `first_line` is the
/// body's line in the file, for messages.
pub fn items(text: &str, first_line: usize) -> Result<Vec<Item>, MdError> {
    let mut events = Parser::new_ext(text, Options::empty()).into_offset_iter().peekable();
    let at = |offset: usize| first_line - 1 + line_of(text, offset);
    blocks(&mut events, None, true).map_err(|(offset, message)| MdError { line: at(offset), message })
}

/// Markdown text of a hint or an explanation: blocks only.
pub fn text(text: &str) -> Result<Vec<Block>, String> {
    let mut events = Parser::new_ext(text, Options::empty()).into_offset_iter().peekable();
    let items = blocks(&mut events, None, false).map_err(|(_, m)| m)?;
    Ok(items
        .into_iter()
        .filter_map(|i| match i {
            Item::Block(b) => Some(b),
            _ => None,
        })
        .collect())
}

type Fail = (usize, String);

fn blocks(events: &mut Events, end: Option<TagEnd>, top: bool) -> Result<Vec<Item>, Fail> {
    let mut out = Vec::new();
    // A tight list item holds its text without a paragraph.
    let mut loose: Vec<Inline> = Vec::new();
    while let Some((event, range)) = events.next() {
        let offset = range.start;
        // Inline content straight in a tight list item.
        if matches!(
            event,
            Event::Text(_)
                | Event::Code(_)
                | Event::SoftBreak
                | Event::HardBreak
                | Event::Start(Tag::Emphasis | Tag::Strong | Tag::Link { .. })
        ) {
            push_inline(&mut loose, inline(event, offset, events)?);
            continue;
        }
        flush(&mut loose, &mut out);
        match event {
            Event::End(e) if Some(e) == end => break,
            Event::Start(Tag::Paragraph) => out.push(Item::Block(Block::Para(inlines(events, TagEnd::Paragraph)?))),
            Event::Start(Tag::Heading { level, .. }) => {
                let body = inlines(events, TagEnd::Heading(level))?;
                match level {
                    HeadingLevel::H1 => {
                        return Err((offset, "a `#` heading: the lesson's title is in its front matter".into()))
                    }
                    HeadingLevel::H2 if top => out.push(Item::StepHeading(body)),
                    HeadingLevel::H2 => return Err((offset, "a `##` heading starts a step: not here".into())),
                    l => out.push(Item::Block(Block::Heading(l as u8, body))),
                }
            }
            Event::Start(Tag::BlockQuote(_)) => {
                let inner = blocks(events, Some(TagEnd::BlockQuote(None)), false)?;
                out.push(Item::Block(Block::Quote(only_blocks(inner))));
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                let mut code = String::new();
                for (e, r) in events.by_ref() {
                    match e {
                        Event::Text(t) => code.push_str(&t),
                        Event::End(TagEnd::CodeBlock) => break,
                        _ => return Err((r.start, "unexpected markup in a code block".into())),
                    }
                }
                match kind {
                    CodeBlockKind::Fenced(info) if info.trim() == "step" => {
                        if !top {
                            return Err((offset, "a ```step block belongs at the top level of a step".into()));
                        }
                        out.push(Item::StepData(code));
                    }
                    _ => out.push(Item::Block(Block::Code(code))),
                }
            }
            Event::Start(Tag::List(start)) => {
                let mut items = Vec::new();
                loop {
                    match events.next() {
                        Some((Event::Start(Tag::Item), _)) => {
                            items.push(only_blocks(blocks(events, Some(TagEnd::Item), false)?));
                        }
                        Some((Event::End(TagEnd::List(_)), _)) => break,
                        Some((_, r)) => return Err((r.start, "unexpected markup in a list".into())),
                        None => return Err((offset, "a list that does not end".into())),
                    }
                }
                out.push(Item::Block(Block::List { ordered: start.is_some(), items }));
            }
            Event::Rule => {}
            Event::Html(_) | Event::InlineHtml(_) | Event::Start(Tag::HtmlBlock) => {
                return Err((offset, "raw HTML: lesson text is Markdown only".into()))
            }
            other => return Err((offset, format!("unsupported Markdown: {}", describe(&other)))),
        }
    }
    flush(&mut loose, &mut out);
    Ok(out)
}

fn flush(loose: &mut Vec<Inline>, out: &mut Vec<Item>) {
    if !loose.is_empty() {
        out.push(Item::Block(Block::Para(std::mem::take(loose))));
    }
}

fn only_blocks(items: Vec<Item>) -> Vec<Block> {
    items
        .into_iter()
        .filter_map(|i| match i {
            Item::Block(b) => Some(b),
            _ => None,
        })
        .collect()
}

fn inlines(events: &mut Events, end: TagEnd) -> Result<Vec<Inline>, Fail> {
    let mut out = Vec::new();
    while let Some((e, r)) = events.next() {
        if e == Event::End(end) {
            return Ok(out);
        }
        push_inline(&mut out, inline(e, r.start, events)?);
    }
    Err((0, "text that does not end".into()))
}

/// Appends `i`, joining text to the text before it: Markdown's lines (and
/// their soft breaks) come as separate pieces, and one run of text is
/// smaller to ship and to render.
fn push_inline(out: &mut Vec<Inline>, i: Inline) {
    if let (Some(Inline::Text(prev)), Inline::Text(t)) = (out.last_mut(), &i) {
        prev.push_str(t);
        return;
    }
    out.push(i);
}

fn inline(e: Event, offset: usize, events: &mut Events) -> Result<Inline, Fail> {
    Ok(match e {
        Event::Text(t) => Inline::Text(t.into_string()),
        Event::Code(t) => Inline::Code(t.into_string()),
        Event::SoftBreak => Inline::Text(" ".into()),
        Event::HardBreak => Inline::Break,
        Event::Start(Tag::Emphasis) => Inline::Emph(inlines(events, TagEnd::Emphasis)?),
        Event::Start(Tag::Strong) => Inline::Strong(inlines(events, TagEnd::Strong)?),
        Event::Start(Tag::Link { dest_url, .. }) => {
            let target = dest_url.into_string();
            Target::parse(&target).map_err(|m| (offset, format!("link {m}")))?;
            Inline::Link { target, body: inlines(events, TagEnd::Link)? }
        }
        Event::Html(_) | Event::InlineHtml(_) => return Err((offset, "raw HTML: lesson text is Markdown only".into())),
        other => return Err((offset, format!("unsupported Markdown: {}", describe(&other)))),
    })
}

fn describe(e: &Event) -> String {
    match e {
        Event::Start(Tag::Image { .. }) => "an image".into(),
        Event::Start(Tag::Table(_)) => "a table".into(),
        Event::Start(Tag::FootnoteDefinition(_)) | Event::FootnoteReference(_) => "a footnote".into(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_becomes_blocks_and_inlines() {
        let b = text("Some *emphasis*, `code` and a [link](lesson:raft/2).\n\n- one\n- two **bold**\n").unwrap();
        assert_eq!(
            b[0],
            Block::Para(vec![
                Inline::Text("Some ".into()),
                Inline::Emph(vec![Inline::Text("emphasis".into())]),
                Inline::Text(", ".into()),
                Inline::Code("code".into()),
                Inline::Text(" and a ".into()),
                Inline::Link { target: "lesson:raft/2".into(), body: vec![Inline::Text("link".into())] },
                Inline::Text(".".into()),
            ])
        );
        let Block::List { ordered: false, items } = &b[1] else { panic!("{b:?}") };
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[1],
            vec![Block::Para(vec![Inline::Text("two ".into()), Inline::Strong(vec![Inline::Text("bold".into())])])]
        );
    }

    #[test]
    fn lines_of_a_paragraph_are_one_text() {
        let b = text("one line\nand the next\n*then* more\nand more\n").unwrap();
        assert_eq!(
            b[0],
            Block::Para(vec![
                Inline::Text("one line and the next ".into()),
                Inline::Emph(vec![Inline::Text("then".into())]),
                Inline::Text(" more and more".into()),
            ])
        );
    }

    #[test]
    fn html_images_and_bad_links_are_refused() {
        assert!(text("<b>hi</b>").unwrap_err().contains("raw HTML"));
        assert!(text("a <i>b</i> c").unwrap_err().contains("raw HTML"));
        assert!(text("![x](y.png)").unwrap_err().contains("image"));
        assert!(text("[x](javascript:alert(1))").unwrap_err().contains("not a link"));
    }

    #[test]
    fn steps_are_found_at_the_top_level_with_lines() {
        let items = items("Intro.\n\n## First\n\nText.\n\n```step\nstart = \"previous\"\n```\n", 5).ok().unwrap();
        assert!(matches!(items[1], Item::StepHeading(_)));
        assert!(matches!(&items[3], Item::StepData(t) if t.contains("previous")));
        let e = items_err("Intro.\n\n# Title\n", 5);
        assert_eq!((e.line, e.message.contains("front matter")), (7, true));
    }

    fn items_err(t: &str, line: usize) -> MdError {
        match items(t, line) {
            Err(e) => e,
            Ok(i) => panic!("parsed: {i:?}"),
        }
    }
}
