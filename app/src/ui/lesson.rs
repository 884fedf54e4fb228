//! The lesson column beside the lab: the catalog with each lesson's
//! progress, and the player (a step's text, its goals live, hints, the
//! prediction, the solution, next and previous).

use super::lesson_text::{blocks, code_spans};
use crate::handle::LabHandle;
use crate::lesson::course;
use crate::lesson::player::{describe_edit, step_link, LessonHandle};
use leptos::prelude::*;

#[component]
pub fn LessonColumn() -> impl IntoView {
    let lh = expect_context::<LessonHandle>();
    view! {
        <section class="lesson" aria-labelledby="lesson-title" data-testid="lesson">
            {move || if lh.open.get().is_some() { view! { <Player /> }.into_any() } else { view! { <Catalog /> }.into_any() }}
        </section>
    }
}

#[component]
fn Catalog() -> impl IntoView {
    let lh = expect_context::<LessonHandle>();
    let h = expect_context::<LabHandle>();
    let start = move |id: &'static str| {
        let at = lh.progress.with_untracked(|p| p.lesson(id).at);
        if let Err(e) = lh.open_step(h, id, at) {
            h.notice.set(Some(format!("The lesson could not be opened: {e}")));
        }
    };
    view! {
        <div class="lesson-head">
            <h2 id="lesson-title">"Lessons"</h2>
            <button on:click=move |_| lh.shown.set(false)>"Hide lessons"</button>
        </div>
        <p class="hint">"Ten lessons, each a few steps: read, change the lab, run, and watch the goals turn green. Your progress is kept in this browser."</p>
        <ol class="catalog">
            {course().lessons.iter().map(|l| {
                let id = l.id.as_str();
                let count = move || lh.progress.with(|p| p.count(course(), id));
                let verb = move || match count() {
                    (0, _) => "Start",
                    (d, t) if d == t => "Review",
                    _ => "Continue",
                };
                view! {
                    <li>
                        <h3>{l.title.clone()}</h3>
                        <p>{l.summary.clone()}</p>
                        <p class="progress-line">
                            <span data-testid=format!("progress-{id}")>{move || {
                                let (done, total) = count();
                                format!("{done} of {total} steps done")
                            }}</span>
                            <button
                                class="primary"
                                aria-label=move || format!("{}: {}", verb(), l.title)
                                on:click=move |_| start(id)
                            >
                                {verb}
                            </button>
                        </p>
                    </li>
                }
            }).collect_view()}
        </ol>
    }
}

#[component]
fn Player() -> impl IntoView {
    let lh = expect_context::<LessonHandle>();
    let h = expect_context::<LabHandle>();
    let go = move |step: usize| {
        let Some(l) = lh.lesson() else { return };
        if let Err(e) = lh.open_step(h, &l.id, step) {
            h.notice.set(Some(format!("The step could not be opened: {e}")));
        }
    };
    let link_status = RwSignal::new(String::new());
    // A step opened (Start, a step dot, Next): its column from the top, and
    // the focus on its heading, where the button that opened it was; a
    // screen reader reads the step's title. Runs when the new heading is
    // in the page.
    let heading = NodeRef::<leptos::html::H3>::new();
    Effect::new(move |_| {
        let Some(h3) = heading.get() else { return };
        let _ = h3.focus();
        if let Ok(Some(column)) = h3.closest(".lesson") {
            column.set_scroll_top(0);
        }
    });
    let copy_link = move |_| {
        let Some((l, s, _)) = lh.step() else { return };
        let link = step_link(&l.id, s);
        if let Some(w) = web_sys::window() {
            if let Ok(hist) = w.history() {
                let _ = hist.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&link));
            }
            let full = w.location().href().unwrap_or(link);
            let _ = w.navigator().clipboard().write_text(&full);
            link_status.set(format!("The link to this step is in the address bar: {full}"));
        }
    };
    move || {
        let Some((lesson, index, step)) = lh.step() else { return ().into_any() };
        let steps = lesson.steps.len();
        // On a lesson's last step, the way on to the next lesson.
        let next_lesson = (index + 1 == steps)
            .then(|| course().lessons.iter().position(|l| l.id == lesson.id))
            .flatten()
            .and_then(|i| course().lessons.get(i + 1));
        let done = move || lh.progress.with(|p| p.lesson(&lesson.id).is_done(index));
        let all_met = move || lh.statuses.with(|s| !s.is_empty() && s.iter().all(|g| g.met));
        view! {
            <div class="lesson-head">
                <h2 id="lesson-title">{lesson.title.clone()}</h2>
                <button on:click=move |_| lh.close()>"All lessons"</button>
            </div>
            <nav class="step-dots" aria-label="Steps">
                {lesson.steps.iter().enumerate().map(|(i, s)| {
                    let current = i == index;
                    let done_i = move || lh.progress.with(|p| p.lesson(&lesson.id).is_done(i));
                    view! {
                        <button
                            class="step-dot"
                            class:current=current
                            class:done=done_i
                            aria-current=if current { Some("step") } else { None }
                            on:click=move |_| go(i)
                        >
                            {i + 1}
                            <span class="sr-only">{move || format!(": {}{}", s.title, if done_i() { " (done)" } else { "" })}</span>
                        </button>
                    }
                }).collect_view()}
            </nav>
            {(index == 0).then(|| view! { <div class="lesson-text">{blocks(&lesson.intro)}</div> })}
            <h3 node_ref=heading tabindex="-1" data-testid="step-title">{format!("Step {} of {steps}: {}", index + 1, step.title)}</h3>
            <div class="lesson-text">{blocks(&step.text)}</div>
            {step.predict.as_ref().map(|p| view! { <Predict p=p /> })}
            <h4 id="goals-title">"Goals"</h4>
            <ul class="goals" aria-labelledby="goals-title" data-testid="goals">
                {step.goals.iter().enumerate().map(|(i, g)| {
                    let status = move || lh.statuses.with(|s| s.get(i).cloned());
                    let met = move || status().is_some_and(|s| s.met);
                    view! {
                        <li class="goal" class:met=met data-testid="goal" data-met=move || met().to_string()>
                            <span class="goal-mark" aria-hidden="true">{move || if met() { "✓" } else { "○" }}</span>
                            <span>
                                <span class="sr-only">{move || if met() { "Met: " } else { "Not yet met: " }}</span>
                                {code_spans(&g.text)}
                                <span class="goal-detail">{move || status().map(|s| code_spans(&s.detail))}</span>
                            </span>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <p class="step-done" role="status" data-testid="step-status">
                {move || match (done(), lh.announce.get()) {
                    (false, _) if !lh.reached_end.get() && all_met() => {
                        "Every goal holds now; run to the end to finish the step.".to_string()
                    }
                    (false, _) => String::new(),
                    (true, said) if said.is_empty() => "This step is done.".to_string(),
                    (true, said) => said,
                }}
            </p>
            <Hints step=step />
            <Solution step=step />
            <div class="buttons step-nav">
                <button disabled={ index == 0 } on:click=move |_| go(index.saturating_sub(1))>"Previous step"</button>
                <button class:primary=done disabled={ index + 1 >= steps } on:click=move |_| go(index + 1)>"Next step"</button>
                <button on:click=copy_link>"Link to this step"</button>
            </div>
            {next_lesson.map(|next| view! {
                <p class="next-lesson">
                    <button class:primary=done on:click=move |_| {
                        if let Err(e) = lh.open_step(h, &next.id, 0) {
                            h.notice.set(Some(format!("The lesson could not be opened: {e}")));
                        }
                    }>{format!("Next lesson: {}", next.title)}</button>
                </p>
            })}
            <p class="hint" role="status">{move || link_status.get()}</p>
        }
        .into_any()
    }
}

#[component]
fn Predict(p: &'static lesson::Predict) -> impl IntoView {
    let lh = expect_context::<LessonHandle>();
    let choice = RwSignal::new(None::<usize>);
    let made = move || lh.prediction();
    view! {
        <fieldset class="predict" data-testid="predict">
            <legend>"Predict, then run"</legend>
            <p>{code_spans(&p.question)}</p>
            {p.options.iter().enumerate().map(|(i, o)| view! {
                <label class="option">
                    <input
                        type="radio"
                        name="prediction"
                        prop:checked=move || made().or(choice.get()) == Some(i)
                        disabled=move || made().is_some()
                        on:change=move |_| choice.set(Some(i))
                    />
                    <span>{code_spans(o)}</span>
                </label>
            }).collect_view()}
            {move || match made() {
                None => view! {
                    <button disabled=move || choice.get().is_none() on:click=move |_| {
                        if let Some(c) = choice.get_untracked() { lh.predict(c) }
                    }>"Commit my prediction"</button>
                    <p class="hint">"Then run the scenario to its end to see what happens."</p>
                }.into_any(),
                Some(c) if lh.reached_end.get() => view! {
                    <div class="reveal" role="status">
                        <p><strong>{if c == p.answer { "You predicted it. " } else { "Not what you predicted. " }}</strong>
                        "The answer: "{code_spans(&p.options[p.answer])}</p>
                        {blocks(&p.explain)}
                    </div>
                }.into_any(),
                Some(c) => view! {
                    <p class="hint">"You predicted: "{code_spans(&p.options[c])}". Run to the end to see."</p>
                }.into_any(),
            }}
        </fieldset>
    }
}

#[component]
fn Hints(step: &'static lesson::Step) -> impl IntoView {
    let lh = expect_context::<LessonHandle>();
    let total = step.hints.len();
    (total > 0).then(|| {
        view! {
            <div class="hints">
                <ol class="hint-list">
                    {move || step.hints.iter().take(lh.hints.get()).map(|b| view! { <li>{blocks(b)}</li> }).collect_view()}
                </ol>
                <button
                    disabled=move || { lh.hints.get() >= total }
                    on:click=move |_| lh.hints.update(|n| *n = (*n + 1).min(total))
                >
                    {move || format!("Show a hint ({} of {total} shown)", lh.hints.get())}
                </button>
            </div>
        }
    })
}

#[component]
fn Solution(step: &'static lesson::Step) -> impl IntoView {
    let lh = expect_context::<LessonHandle>();
    let h = expect_context::<LabHandle>();
    let apply = move |_| match lh.apply_solution(h) {
        Ok(()) => {}
        Err(e) => h.notice.set(Some(format!("The solution could not be made here: {e}"))),
    };
    view! {
        <div class="solution">
            {move || if lh.solution.get() {
                view! {
                    <h4>"Solution"</h4>
                    <ol>{step.solution.iter().map(|e| view! { <li>{describe_edit(e)}</li> }).collect_view()}</ol>
                    {blocks(&step.explain)}
                    <button on:click=apply>"Make these changes in the lab"</button>
                }.into_any()
            } else {
                view! { <button on:click=move |_| lh.solution.set(true)>"Show the solution"</button> }.into_any()
            }}
        </div>
    }
}
