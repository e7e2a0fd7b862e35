//! The only place that touches `window.__TAURI__`: typed commands and events.

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
            code: "internal".into(),
            message: e.to_string(),
        })?;
    match tauri_invoke(C::NAME, args).await {
        // Large outputs come as JSON bytes (an ArrayBuffer): one serde_json pass in wasm.
        Ok(value) if value.is_instance_of::<js_sys::ArrayBuffer>() => {
            let bytes = js_sys::Uint8Array::new(&value).to_vec();
            serde_json::from_slice(&bytes).map_err(|e| ConsoleError {
                code: "internal".into(),
                message: e.to_string(),
            })
        }
        Ok(value) => serde_wasm_bindgen::from_value(value).map_err(|e| ConsoleError {
            code: "internal".into(),
            message: e.to_string(),
        }),
        Err(error) => Err(
            serde_wasm_bindgen::from_value(error.clone()).unwrap_or_else(|_| ConsoleError {
                code: "internal".into(),
                message: error
                    .as_string()
                    .unwrap_or_else(|| "the console backend failed".into()),
            }),
        ),
    }
}

/// Calls `handler` with each payload of `event`, for the life of the page.
pub fn listen(event: &'static str, mut handler: impl FnMut(JsValue) + 'static) {
    let closure = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
        let payload =
            js_sys::Reflect::get(&event, &JsValue::from_str("payload")).unwrap_or(JsValue::NULL);
        handler(payload);
    });
    wasm_bindgen_futures::spawn_local(async move {
        let _ = tauri_listen(event, &closure).await;
        // The page never unsubscribes: keep the closure alive.
        closure.forget();
    });
}
