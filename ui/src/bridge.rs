//! The only place that touches `window.__TAURI__`: typed commands and events.

use countersign_wire::api::ErrorCode;
use countersign_wire::console::{Command, ConsoleError};
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = ["window", "__TAURI__", "core"], js_name = invoke)]
    async fn tauri_invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(catch, js_namespace = ["window", "__TAURI__", "event"], js_name = listen)]
    async fn tauri_listen(
        event: &str,
        handler: &Closure<dyn FnMut(JsValue)>,
    ) -> Result<JsValue, JsValue>;
}

#[derive(Serialize)]
struct Args<'a, T> {
    req: &'a T,
}

/// Calls a backend command; a rejected promise becomes a `ConsoleError`.
pub async fn call<C: Command>(req: &C) -> Result<C::Output, ConsoleError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let args = Args { req }
        .serialize(&serializer)
        .map_err(|e| ConsoleError {
            code: ErrorCode::Internal.into(),
            message: e.to_string(),
        })?;
    match tauri_invoke(C::NAME, args).await {
        // Large outputs come as JSON bytes (an ArrayBuffer): one serde_json pass in wasm.
        Ok(value) if value.is_instance_of::<js_sys::ArrayBuffer>() => {
            let bytes = js_sys::Uint8Array::new(&value).to_vec();
            serde_json::from_slice(&bytes).map_err(|e| ConsoleError {
                code: ErrorCode::Internal.into(),
                message: e.to_string(),
            })
        }
        Ok(value) => serde_wasm_bindgen::from_value(value).map_err(|e| ConsoleError {
            code: ErrorCode::Internal.into(),
            message: e.to_string(),
        }),
        Err(error) => Err(
            serde_wasm_bindgen::from_value(error.clone()).unwrap_or_else(|_| ConsoleError {
                code: ErrorCode::Internal.into(),
                message: error
                    .as_string()
                    .unwrap_or_else(|| "the console backend failed".into()),
            }),
        ),
    }
}

/// A backend command as a Leptos action: `pending()` while it runs, `value()` its answer.
/// Owned by whoever creates it, so create it where the answer must outlive re-renders.
pub fn action<C>() -> leptos::prelude::Action<C, Result<C::Output, ConsoleError>>
where
    C: Command + Clone + 'static,
    C::Output: 'static,
{
    leptos::prelude::Action::new_local(|req: &C| {
        let req = req.clone();
        async move { call(&req).await }
    })
}

/// A subscription to a backend event, until it is cancelled.
pub struct Subscription {
    state: std::rc::Rc<std::cell::RefCell<Listening>>,
}

#[derive(Default)]
struct Listening {
    /// Tauri's unlisten function, once the subscription is registered.
    unlisten: Option<js_sys::Function>,
    /// The handler, kept alive while Tauri may call it.
    handler: Option<Closure<dyn FnMut(JsValue)>>,
    cancelled: bool,
}

impl Subscription {
    /// Keeps the subscription for the life of the page (the shell's own).
    pub fn for_the_page(self) {
        std::mem::forget(self.state);
    }

    /// Unsubscribes (at once, or as soon as the registration completes) and frees the handler.
    pub fn cancel(&self) {
        let mut state = self.state.borrow_mut();
        state.cancelled = true;
        if let Some(unlisten) = state.unlisten.take() {
            let _ = unlisten.call0(&JsValue::NULL);
            state.handler = None;
        }
    }
}

/// Calls `handler` with each payload of `event` until the returned subscription is
/// cancelled (a component cancels it in `on_cleanup`, so a closed view leaves no listener).
pub fn listen(event: &'static str, mut handler: impl FnMut(JsValue) + 'static) -> Subscription {
    let closure = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
        let payload =
            js_sys::Reflect::get(&event, &JsValue::from_str("payload")).unwrap_or(JsValue::NULL);
        handler(payload);
    });
    let state = std::rc::Rc::new(std::cell::RefCell::new(Listening::default()));
    let registering = state.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let unlisten = tauri_listen(event, &closure).await;
        let mut state = registering.borrow_mut();
        match unlisten
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        {
            Some(unlisten) if state.cancelled => {
                let _ = unlisten.call0(&JsValue::NULL);
            }
            Some(unlisten) => {
                state.unlisten = Some(unlisten);
                state.handler = Some(closure);
            }
            None => {}
        }
    });
    Subscription { state }
}
