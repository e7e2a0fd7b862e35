//! Settings: the reviewer's key (fingerprint, public JWK export for enrolment) and which gateway
//! to connect to. The backend validates and saves; a new gateway applies on restart.

use countersign_wire::console::{
    ConsoleError, DemoConnection, ExportPublicKey, GatewaySettings, GetSettings, KeyCustody,
    Restart, SaveAutostart, SaveSettings, SaveTheme, SettingsView, Theme,
};
use leptos::prelude::*;

use crate::bridge;

/// Where the private key is kept, in words: the keychain's entry, or the file and why.
fn custody(custody: &KeyCustody) -> AnyView {
    match custody {
        KeyCustody::Keychain {
            store,
            service,
            user,
        } => view! {
            <dd data-testid="key-custody" data-custody="keychain">
                "In the OS keychain (" {store.clone()} "), entry "
                <span class="mono">{service.clone()} " / " {user.clone()}</span>
            </dd>
        }
        .into_any(),
        KeyCustody::File { path, reason } => view! {
            <dd data-testid="key-custody" data-custody="file">
                "In the file " <span class="mono">{path.clone()}</span> " (owner-only), not in a keychain: "
                <span class="custody-reason">{reason.clone()}</span>
            </dd>
        }
        .into_any(),
    }
}

#[component]
pub(crate) fn SettingsPanel(open: RwSignal<bool>) -> impl IntoView {
    let loaded = RwSignal::new(None::<Result<SettingsView, ConsoleError>>);
    let export_key = Action::new_local(|_: &()| bridge::call(&ExportPublicKey {}));
    let exported = export_key.value();
    let restart_app = Action::new_local(|_: &()| async {
        // The backend restarts the app; there is nothing to show if it cannot.
        let _ = bridge::call(&Restart {}).await;
    });
    let use_gateway = RwSignal::new(false);
    let url = RwSignal::new(String::new());
    let identity = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let audience = RwSignal::new(String::new());
    let saving = bridge::action::<SaveSettings>();
    let theme = RwSignal::new(Theme::System);
    let saving_theme = bridge::action::<SaveTheme>();
    // Shown at once; kept with the settings for the next start.
    let choose_theme = move |chosen: Theme| {
        theme.set(chosen);
        crate::theme::apply(chosen);
        saving_theme.dispatch_local(SaveTheme { theme: chosen });
    };

    let autostart = RwSignal::new(false);
    let saving_autostart = bridge::action::<SaveAutostart>();
    // What is in force after the change (the backend reads it back).
    Effect::new(move |_| {
        if let Some(Ok(enabled)) = saving_autostart.value().get() {
            autostart.set(enabled);
        }
    });

    let fill = move |view: &SettingsView| {
        theme.set(view.theme);
        autostart.set(view.autostart);
        use_gateway.set(view.gateway.is_some());
        let g = view.gateway.clone();
        url.set(g.as_ref().map(|g| g.url.clone()).unwrap_or_default());
        identity.set(g.as_ref().map(|g| g.identity.clone()).unwrap_or_default());
        display_name.set(
            g.as_ref()
                .map(|g| g.display_name.clone())
                .unwrap_or_default(),
        );
        audience.set(g.map(|g| g.audience).unwrap_or_default());
    };
    // Read afresh each time the screen opens.
    let reading = bridge::action::<GetSettings>();
    Effect::new(move |_| {
        if open.get() {
            saving.value().set(None);
            exported.set(None);
            reading.dispatch_local(GetSettings {});
        }
    });
    // What the backend says the settings are, read or just saved, fills the form; a refused
    // save leaves the form as the reviewer typed it.
    Effect::new(move |_| {
        if let Some(result) = reading.value().get() {
            if let Ok(view) = &result {
                fill(view);
            }
            loaded.set(Some(result));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(view)) = saving.value().get() {
            fill(&view);
            loaded.set(Some(Ok(view)));
        }
    });
    let form = move || GatewaySettings {
        url: url.get(),
        identity: identity.get(),
        display_name: display_name.get(),
        audience: audience.get(),
    };
    let problems = move || {
        if use_gateway.get() {
            form().problems()
        } else {
            Vec::new()
        }
    };
    let save = move |_| {
        let gateway = use_gateway.get_untracked().then(form);
        saving.dispatch_local(SaveSettings { gateway });
    };
    let export = move |_| {
        export_key.dispatch_local(());
    };
    let restart = move |_| {
        restart_app.dispatch_local(());
    };
    let field = move |label: &'static str,
                      id: &'static str,
                      value: RwSignal<String>,
                      placeholder: &'static str| {
        view! {
            <label class="field">
                <span>{label}</span>
                <input
                    id=id
                    data-testid=id
                    prop:value=move || value.get()
                    placeholder=placeholder
                    on:input=move |ev| value.set(event_target_value(&ev))
                    disabled=move || !use_gateway.get()
                />
            </label>
        }
    };

    view! {
        <Show when=move || open.get()>
            <div class="overlay" on:click=move |_| open.set(false)>
                <div class="settings-card" data-testid="settings" on:click=|ev| ev.stop_propagation()>
                    <header class="settings-head">
                        <h2>"Settings"</h2>
                        <button class="ghost" on:click=move |_| open.set(false)>"Close"</button>
                    </header>
                    {move || match loaded.get() {
                        None => view! { <p>"Loading…"</p> }.into_any(),
                        Some(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                        Some(Ok(view)) => view! {
                            <section class="panel">
                                <h3>"Your reviewer key"</h3>
                                <p class="muted">"Generated on this machine; the private key never leaves it and is never shown. Enrol the public key at a gateway to review there."</p>
                                <dl class="facts">
                                    <dt>"Reviewing as"</dt><dd>{view.reviewer.display_name.clone()} " (" {view.reviewer.identity.clone()} ")"</dd>
                                    <dt>"Key fingerprint"</dt><dd class="mono" data-testid="fingerprint">{view.reviewer.key_fingerprint.clone()}</dd>
                                    <dt>"Private key"</dt>{custody(&view.custody)}
                                    <dt>"Connected to"</dt><dd class="mono">{view.reviewer.gateway.clone()} " · " {view.reviewer.mode.label()}</dd>
                                </dl>
                                <button data-testid="export-key" on:click=export>"Export public key"</button>
                                {move || exported.get().map(|r| match r {
                                    Ok(key) => view! {
                                        <div class="exported">
                                            <p>"Written to " <code data-testid="exported-path">{key.path}</code></p>
                                            <textarea class="mono" readonly rows="3" data-testid="exported-jwk">{key.jwk}</textarea>
                                            <p class="muted">"The gateway operator enrols it with:"</p>
                                            <pre class="mono">{view.enrol_command.clone()}</pre>
                                        </div>
                                    }.into_any(),
                                    Err(e) => view! { <p class="error">{e.message}</p> }.into_any(),
                                })}
                            </section>
                            {view.demo.clone().map(|demo| view! { <DemoConnectionPanel demo=demo /> })}
                        }.into_any(),
                    }}
                    <section class="panel" data-testid="appearance">
                        <h3>"Appearance"</h3>
                        {Theme::ALL.into_iter().map(|choice| view! {
                            <label class="choice">
                                <input
                                    type="radio"
                                    name="theme"
                                    data-testid=format!("theme-{}", choice.as_str())
                                    prop:checked=move || theme.get() == choice
                                    on:change=move |_| choose_theme(choice)
                                />
                                {choice.label()}
                            </label>
                        }).collect_view()}
                        {move || match saving_theme.value().get() {
                            Some(Err(e)) => view! { <p class="error" data-testid="theme-error">{e.message}</p> }.into_any(),
                            _ => ().into_any(),
                        }}
                    </section>
                    <section class="panel" data-testid="startup">
                        <h3>"Starting"</h3>
                        <label class="choice">
                            <input
                                type="checkbox"
                                data-testid="autostart"
                                prop:checked=move || autostart.get()
                                on:change=move |ev| {
                                    saving_autostart.dispatch_local(SaveAutostart { enabled: event_target_checked(&ev) });
                                }
                            />
                            "Start Countersign when I log in"
                        </label>
                        {move || match saving_autostart.value().get() {
                            Some(Err(e)) => view! { <p class="error" data-testid="autostart-error">{e.message}</p> }.into_any(),
                            _ => ().into_any(),
                        }}
                    </section>
                    <section class="panel">
                        <h3>"Gateway"</h3>
                        <label class="choice">
                            <input type="radio" name="mode" prop:checked=move || !use_gateway.get() on:change=move |_| use_gateway.set(false) />
                            "Embedded demo (a gateway and demo workflow on this machine)"
                        </label>
                        <label class="choice">
                            <input type="radio" name="mode" data-testid="use-gateway" prop:checked=move || use_gateway.get() on:change=move |_| use_gateway.set(true) />
                            "A gateway where I am enrolled"
                        </label>
                        {field("Gateway URL", "gateway-url", url, "https://approvals.example.com")}
                        {field("Reviewer identity", "gateway-identity", identity, "user:alice@example.com")}
                        {field("Display name", "gateway-name", display_name, "Alice Martin")}
                        {field("Audience", "gateway-audience", audience, "approvals.example.com")}
                        <ul class="problems" data-testid="settings-problems">
                            {move || problems().into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}
                        </ul>
                        <div class="actions">
                            <button class="primary" data-testid="save-settings" on:click=save disabled=move || !problems().is_empty()>"Save"</button>
                            {move || match saving.value().get() {
                                Some(Ok(saved)) if saved.restart_needed => view! {
                                    <span class="notice">"Saved. Restart Countersign to connect."</span>
                                    <button on:click=restart>"Restart now"</button>
                                }.into_any(),
                                Some(Ok(_)) => view! { <span class="notice">"Saved."</span> }.into_any(),
                                Some(Err(e)) => view! { <span class="error">{e.message}</span> }.into_any(),
                                None => ().into_any(),
                            }}
                        </div>
                    </section>
                </div>
            </div>
        </Show>
    }
}

/// How to send requests from an agent of your own to the embedded demo's gateway.
#[component]
fn DemoConnectionPanel(demo: DemoConnection) -> impl IntoView {
    view! {
        <section class="panel" data-testid="demo-connection">
            <h3>"Connect your own agent"</h3>
            <p class="muted">"The embedded demo runs a real gateway on this machine. Point an agent at it (the Python SDK's request_approval, or plain HTTP) and its requests appear in this queue. The port and the credential are new each time Countersign starts."</p>
            <dl class="facts">
                <dt>"Gateway URL"</dt><dd class="mono" data-testid="demo-gateway-url">{demo.gateway_url}</dd>
                <dt>"Workflow credential"</dt><dd class="mono secret" data-testid="demo-workflow-token">{demo.workflow_token}</dd>
                <dt>"Audience"</dt><dd class="mono">{demo.audience}</dd>
                <dt>"Trust store"</dt><dd class="mono">{demo.trust_path}</dd>
            </dl>
            <p class="muted">"Try the Python example (a LangGraph agent paying an invoice; pip install './sdk/python[langgraph]' first): its keys are merged into this trust store, which the gateway reloads within a second."</p>
            <pre class="mono" data-testid="demo-example-commands">{demo.example_commands}</pre>
            <p class="muted">"Or register any agent's public key (from countersign keygen) with the operator CLI (cargo build --release -p countersign-gateway -p countersign-cli builds both):"</p>
            <pre class="mono" data-testid="demo-trust-command">{demo.trust_command}</pre>
        </section>
    }
}
