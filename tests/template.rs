//! Structural checks of the SAM template (`template.yaml`) that cfn-lint cannot make:
//! API key or IAM on the `/events` route, least-privilege role, partial batch responses,
//! dead-letter and rejected-events queues, visibility timeout and call-budget tables,
//! parameters that take only whole numbers in range, alarms on the function's own metrics,
//! the arm64 cargo-lambda build, and that the function only gets documented settings as
//! environment variables. What CloudFormation makes of it: tests/cloudformation/.
//!
//! SAM intrinsic short forms (`!Ref`, `!GetAtt`, `!Sub`, `!If`, `!FindInMap`, ...) parse as
//! YAML tagged values; the long forms (`Ref:`, `Fn::GetAtt:`) are understood too.

use serde_norway::{Mapping, Value};
use std::collections::{BTreeMap, BTreeSet};

const TEMPLATE: &str = include_str!("../template.yaml");

/// Settings the function may receive, plus the metrics namespace and Lambda's
/// own log-format variable. `PINTEREST_ACCESS_TOKEN` is deliberately absent: in Lambda the
/// token only ever comes from Secrets Manager, never from a plain environment variable.
const DOCUMENTED_SETTINGS: &[&str] = &[
    "PINTEREST_AD_ACCOUNT_ID",
    "PINTEREST_TOKEN_SECRET_ID",
    "PINTEREST_CLICK_ID_COOKIE",
    "PINTEREST_TEST_MODE",
    "PINTEREST_MAPPING",
    "PINTEREST_MAPPING_FILE",
    "PINTEREST_API_BASE_URL",
    "PINTEREST_MAX_EVENT_AGE_SECS",
    "PINTEREST_TOKEN_TTL_SECS",
    "PINTEREST_MAX_CONCURRENCY",
    "PINTEREST_MAX_BODY_BYTES",
    "PINTEREST_METRICS_NAMESPACE",
    "PINTEREST_EVENT_TABLE",
    "PINTEREST_CONSENT_CATEGORIES",
    "PINTEREST_REJECTED_QUEUE_URL",
    "PINTEREST_CALLS_PER_MINUTE",
    "AWS_LAMBDA_LOG_FORMAT",
];

/// The whole-number parameters that take a range (String with an AllowedPattern: a Number
/// parameter would take `12.5` or `010`), with the range each pattern must express.
const NUMERIC_RANGES: &[(&str, u64, u64)] = &[
    ("MaxEventAgeSeconds", 60, 604_800),
    ("TokenTtlSeconds", 1, 86_400),
    ("MaxBodyBytes", 1024, 6_291_456),
    ("MaxRequestsInFlight", 1, 64),
    ("BatchSize", 1, 10_000),
    ("BatchingWindowSeconds", 0, 30),
    ("MaxReceiveCount", 5, 1000),
    ("FunctionMemorySize", 128, 10_240),
    ("ApiRateLimit", 1, 10_000),
    ("ApiBurstLimit", 1, 5000),
    ("QueueAgeAlarmSeconds", 60, 86_400),
];

/// Pinterest's calls per minute per ad account, shared by all the function's instances.
const ACCOUNT_CALLS_PER_MINUTE: u64 = 5000;

/// The function's EMF metric for Pinterest calls refused with 401 (after the token re-read) or 403.
const AUTH_FAILURES_METRIC: &str = "AuthFailures";

fn template() -> Value {
    serde_norway::from_str(TEMPLATE).unwrap_or_else(|e| panic!("template.yaml does not parse: {e}"))
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_mapping()?.get(key)
}

/// Follows a dotted path of mapping keys; panics with the path when something is missing.
fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |cur, key| {
        get(cur, key).unwrap_or_else(|| panic!("template: `{path}` is missing (at `{key}`)"))
    })
}

fn str_at<'a>(v: &'a Value, path: &str) -> &'a str {
    at(v, path)
        .as_str()
        .unwrap_or_else(|| panic!("template: `{path}` is not a string"))
}

/// `!Name value` or `{Name: value}` / `{"Fn::Name": value}` → (`Name`, value).
fn intrinsic(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((
            t.tag.to_string().trim_start_matches('!').to_string(),
            &t.value,
        )),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, inner) = m.iter().next()?;
            let k = k.as_str()?;
            if k == "Ref" || k.starts_with("Fn::") || k == "Condition" {
                Some((k.trim_start_matches("Fn::").to_string(), inner))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The logical id named by `!Ref X`.
fn ref_target(v: &Value) -> Option<&str> {
    match intrinsic(v)? {
        (name, target) if name == "Ref" => target.as_str(),
        _ => None,
    }
}

/// The logical id and attribute named by `!GetAtt X.Attr` or `Fn::GetAtt: [X, Attr]`.
fn getatt_target(v: &Value) -> Option<(String, String)> {
    let (name, target) = intrinsic(v)?;
    if name != "GetAtt" {
        return None;
    }
    match target {
        Value::String(s) => {
            let (id, attr) = s.split_once('.')?;
            Some((id.to_string(), attr.to_string()))
        }
        Value::Sequence(parts) if parts.len() == 2 => Some((
            parts[0].as_str()?.to_string(),
            parts[1].as_str()?.to_string(),
        )),
        _ => None,
    }
}

fn resources(t: &Value) -> &Mapping {
    at(t, "Resources")
        .as_mapping()
        .expect("Resources is a mapping")
}

fn resource<'a>(t: &'a Value, id: &str) -> &'a Value {
    resources(t)
        .get(id)
        .unwrap_or_else(|| panic!("resource `{id}` is not in the template"))
}

fn resources_of_type<'a>(t: &'a Value, ty: &str) -> Vec<(&'a str, &'a Value)> {
    resources(t)
        .iter()
        .filter(|(_, r)| get(r, "Type").and_then(Value::as_str) == Some(ty))
        .map(|(k, r)| (k.as_str().expect("logical ids are strings"), r))
        .collect()
}

/// The one Lambda function of the stack: (logical id, resource).
fn function(t: &Value) -> (&str, &Value) {
    let fns = resources_of_type(t, "AWS::Serverless::Function");
    assert_eq!(
        fns.len(),
        1,
        "expected exactly one AWS::Serverless::Function"
    );
    fns[0]
}

fn function_events(t: &Value) -> Vec<(&str, &Value)> {
    let (_, f) = function(t);
    at(f, "Properties.Events")
        .as_mapping()
        .expect("function Events is a mapping")
        .iter()
        .map(|(k, e)| (k.as_str().expect("event names are strings"), e))
        .collect()
}

fn events_of_type<'a>(t: &'a Value, ty: &str) -> Vec<(&'a str, &'a Value)> {
    function_events(t)
        .into_iter()
        .filter(|(_, e)| get(e, "Type").and_then(Value::as_str) == Some(ty))
        .collect()
}

fn parameter<'a>(t: &'a Value, name: &str) -> Option<&'a Value> {
    get(at(t, "Parameters"), name)
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Values a parameter can take that matter for a numeric bound: its AllowedValues when
/// given, otherwise its Default.
fn parameter_values(t: &Value, name: &str) -> Vec<f64> {
    let p = parameter(t, name).unwrap_or_else(|| panic!("parameter `{name}` is not declared"));
    if let Some(Value::Sequence(allowed)) = get(p, "AllowedValues") {
        let values: Vec<f64> = allowed.iter().filter_map(as_f64).collect();
        assert_eq!(
            values.len(),
            allowed.len(),
            "`{name}` AllowedValues are numbers"
        );
        values
    } else {
        let d = get(p, "Default").and_then(as_f64);
        vec![d.unwrap_or_else(|| panic!("numeric parameter `{name}` needs a Default"))]
    }
}

/// The smallest value a numeric setting can take: a literal, or a parameter's smallest
/// allowed value (AllowedValues, else its range in NUMERIC_RANGES, else MinValue, else Default).
fn minimum(t: &Value, v: &Value) -> f64 {
    if let Some(n) = as_f64(v) {
        return n;
    }
    let name = ref_target(v).unwrap_or_else(|| panic!("expected a number or !Ref, got {v:?}"));
    if let Some((_, min, _)) = NUMERIC_RANGES.iter().find(|(n, _, _)| *n == name) {
        return *min as f64;
    }
    let p = parameter(t, name).unwrap_or_else(|| panic!("parameter `{name}` is not declared"));
    if let Some(Value::Sequence(allowed)) = get(p, "AllowedValues") {
        return allowed
            .iter()
            .filter_map(as_f64)
            .fold(f64::INFINITY, f64::min);
    }
    get(p, "MinValue")
        .or_else(|| get(p, "Default"))
        .and_then(as_f64)
        .unwrap_or_else(|| panic!("parameter `{name}` has no MinValue or Default"))
}

/// Evaluates a numeric expression: literal, `!Ref Param` (from `given`, else the
/// parameter's Default) or `!FindInMap [Map, key, key]` whose keys are such expressions.
fn eval(t: &Value, v: &Value, given: &BTreeMap<String, f64>) -> f64 {
    eval_str(t, v, given)
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {v:?}"))
}

fn eval_str(t: &Value, v: &Value, given: &BTreeMap<String, f64>) -> String {
    match v {
        Value::Number(n) => return n.to_string(),
        Value::String(s) => return s.clone(),
        _ => {}
    }
    let (name, inner) = intrinsic(v).unwrap_or_else(|| panic!("cannot evaluate {v:?}"));
    match name.as_str() {
        "Ref" => {
            let p = inner.as_str().expect("!Ref names a string");
            if let Some(x) = given.get(p) {
                return x.to_string();
            }
            let default = parameter(t, p)
                .and_then(|p| get(p, "Default"))
                .unwrap_or_else(|| panic!("`!Ref {p}` has no value and no Default"));
            eval_str(t, default, given)
        }
        "FindInMap" => {
            let parts = inner.as_sequence().expect("!FindInMap takes a list");
            assert_eq!(parts.len(), 3, "!FindInMap takes three arguments");
            let map = eval_str(t, &parts[0], given);
            let k1 = eval_str(t, &parts[1], given);
            let k2 = eval_str(t, &parts[2], given);
            let found = get(at(t, "Mappings"), &map)
                .and_then(|m| get(m, &k1))
                .and_then(|m| get(m, &k2))
                .unwrap_or_else(|| panic!("mapping {map}/{k1}/{k2} is missing"));
            eval_str(t, found, given)
        }
        other => panic!("cannot evaluate !{other}"),
    }
}

/// Every plain string anywhere below `v` (tag names excluded).
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Sequence(s) => s.iter().for_each(|x| strings(x, out)),
        Value::Mapping(m) => m.iter().for_each(|(k, x)| {
            strings(k, out);
            strings(x, out)
        }),
        Value::Tagged(t) => strings(&t.value, out),
        _ => {}
    }
}

#[test]
fn template_parses_with_intrinsic_tags() {
    let t = template();
    assert_eq!(str_at(&t, "Transform"), "AWS::Serverless-2016-10-31");
    let api_url = at(&t, "Outputs.ApiUrl.Value");
    let (name, sub) = intrinsic(api_url).expect("ApiUrl is an intrinsic");
    assert_eq!(name, "Sub");
    let sub = sub.as_str().expect("!Sub takes a string here");
    assert!(sub.starts_with("https://${"), "{sub}");
    assert!(
        sub.contains(".execute-api.${AWS::Region}.${AWS::URLSuffix}/"),
        "{sub}"
    );
    assert!(sub.ends_with("/events"), "{sub}");
}

#[test]
fn function_is_an_arm64_al2023_cargo_lambda_build() {
    let t = template();
    let (_, f) = function(&t);
    assert_eq!(str_at(f, "Properties.Runtime"), "provided.al2023");
    assert_eq!(str_at(f, "Properties.Handler"), "bootstrap");
    assert_eq!(str_at(f, "Properties.CodeUri"), ".");
    let archs = at(f, "Properties.Architectures")
        .as_sequence()
        .expect("list");
    assert_eq!(archs, &vec![Value::from("arm64")]);
    assert_eq!(str_at(f, "Metadata.BuildMethod"), "rust-cargolambda");
    let binary = str_at(f, "Metadata.BuildProperties.Binary");
    assert_eq!(binary, "pinterest-destination");
    let manifest = include_str!("../Cargo.toml");
    assert!(
        manifest.contains(&format!("name = \"{binary}\"")),
        "Cargo.toml declares no binary named {binary}"
    );
    assert_eq!(str_at(f, "Properties.LoggingConfig.LogFormat"), "JSON");
}

#[test]
fn function_logs_to_a_log_group_with_retention() {
    let t = template();
    let (_, f) = function(&t);
    let group = ref_target(at(f, "Properties.LoggingConfig.LogGroup"))
        .expect("LoggingConfig.LogGroup is a !Ref to the stack's log group");
    let group = resource(&t, group);
    assert_eq!(str_at(group, "Type"), "AWS::Logs::LogGroup");
    assert!(minimum(&t, at(group, "Properties.RetentionInDays")) >= 1.0);
}

/// A template value as text: a literal, or `!Ref Param` (from `given`, else the parameter's Default).
fn scalar(t: &Value, v: &Value, given: &BTreeMap<&str, &str>) -> String {
    if let Some(name) = ref_target(v) {
        if let Some(value) = given.get(name) {
            return (*value).to_owned();
        }
        let default = parameter(t, name)
            .and_then(|p| get(p, "Default"))
            .unwrap_or_else(|| panic!("`!Ref {name}` has no value and no Default"));
        return scalar(t, default, given);
    }
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

/// Whether a condition function holds for the given parameter values.
fn truth(t: &Value, v: &Value, given: &BTreeMap<&str, &str>) -> bool {
    let (name, args) = intrinsic(v).unwrap_or_else(|| panic!("not a condition: {v:?}"));
    let list = || args.as_sequence().expect("a condition takes a list");
    match name.as_str() {
        "Equals" => scalar(t, &list()[0], given) == scalar(t, &list()[1], given),
        "Not" => !truth(t, &list()[0], given),
        "And" => list().iter().all(|c| truth(t, c, given)),
        "Or" => list().iter().any(|c| truth(t, c, given)),
        "Condition" => condition_holds(t, args.as_str().expect("a condition name"), given),
        other => panic!("unexpected condition function {other}"),
    }
}

/// Whether the template's named condition holds for the given parameter values (defaults otherwise).
fn condition_holds(t: &Value, name: &str, given: &BTreeMap<&str, &str>) -> bool {
    let condition = get(at(t, "Conditions"), name)
        .unwrap_or_else(|| panic!("condition `{name}` is not declared"));
    truth(t, condition, given)
}

/// `!If [condition, a, b]` resolved for the given parameter values; anything else as it is.
fn pick<'a>(t: &Value, v: &'a Value, given: &BTreeMap<&str, &str>) -> &'a Value {
    match intrinsic(v) {
        Some((name, args)) if name == "If" => {
            let args = args.as_sequence().expect("!If takes a list");
            let condition = args[0].as_str().expect("!If names a condition");
            pick(
                t,
                if condition_holds(t, condition, given) {
                    &args[1]
                } else {
                    &args[2]
                },
                given,
            )
        }
        _ => v,
    }
}

/// The one resource of a type: (logical id, resource).
fn only_resource_of_type<'a>(t: &'a Value, ty: &str) -> (&'a str, &'a Value) {
    let found = resources_of_type(t, ty);
    assert_eq!(found.len(), 1, "expected exactly one {ty}");
    found[0]
}

/// The text of a `!Sub` with a string (or `!Sub [string, names]`).
fn sub_text(v: &Value) -> &str {
    let (name, args) = intrinsic(v).unwrap_or_else(|| panic!("expected !Sub, got {v:?}"));
    assert_eq!(name, "Sub");
    match args {
        Value::Sequence(parts) => parts[0].as_str(),
        other => other.as_str(),
    }
    .expect("!Sub takes a string")
}

/// The parameter's AllowedValues, as text.
fn allowed_values<'a>(t: &'a Value, name: &str) -> Vec<&'a str> {
    let p = parameter(t, name).unwrap_or_else(|| panic!("parameter `{name}` is not declared"));
    at(p, "AllowedValues")
        .as_sequence()
        .expect("AllowedValues is a list")
        .iter()
        .map(|v| v.as_str().expect("AllowedValues are strings"))
        .collect()
}

/// ApiAuth ApiKey: the method requires a key, and the key, a usage plan on the stage and their link exist.
/// ApiAuth Iam: the method requires SigV4 and no key exists. Either way the stage serves a deployment made
/// for that choice, and the function may be invoked for the stage's /events only.
#[test]
fn events_route_requires_an_api_key_or_iam() {
    let t = template();
    assert!(
        events_of_type(&t, "Api").is_empty(),
        "the REST API is written out, its auth depending on ApiAuth"
    );
    let choices = allowed_values(&t, "ApiAuth");
    assert_eq!(choices, ["ApiKey", "Iam"]);
    assert_eq!(
        str_at(parameter(&t, "ApiAuth").expect("ApiAuth"), "Default"),
        "ApiKey",
        "Commanders Act's HTTP destination can send a key header, not SigV4"
    );

    let (_, method) = only_resource_of_type(&t, "AWS::ApiGateway::Method");
    let props = at(method, "Properties");
    // ANY: other methods reach the function, which answers them 405, rather than API Gateway's 403.
    assert_eq!(str_at(props, "HttpMethod"), "ANY");
    let route = resource(
        &t,
        ref_target(at(props, "ResourceId")).expect("ResourceId: !Ref"),
    );
    assert_eq!(str_at(route, "Type"), "AWS::ApiGateway::Resource");
    assert_eq!(str_at(route, "Properties.PathPart"), "events");
    let api_id = ref_target(at(props, "RestApiId")).expect("RestApiId: !Ref");
    assert_eq!(
        getatt_target(at(route, "Properties.ParentId")),
        Some((api_id.to_owned(), "RootResourceId".to_owned())),
        "/events sits at the API's root"
    );
    assert_eq!(
        str_at(resource(&t, api_id), "Type"),
        "AWS::ApiGateway::RestApi"
    );
    assert_eq!(str_at(props, "Integration.Type"), "AWS_PROXY");
    let (function_id, _) = function(&t);
    let uri = sub_text(at(props, "Integration.Uri"));
    assert!(
        uri.contains(&format!("/functions/${{{function_id}.Arn}}/invocations")),
        "{uri}"
    );

    let (stage_id, stage) = only_resource_of_type(&t, "AWS::ApiGateway::Stage");
    assert_eq!(ref_target(at(stage, "Properties.RestApiId")), Some(api_id));
    for choice in &choices {
        let given = BTreeMap::from([("ApiAuth", *choice)]);
        let authorization = pick(&t, at(props, "AuthorizationType"), &given).as_str();
        let key_required = pick(&t, at(props, "ApiKeyRequired"), &given).as_bool();
        let expected = match *choice {
            "ApiKey" => (Some("NONE"), Some(true)),
            _ => (Some("AWS_IAM"), Some(false)),
        };
        assert_eq!((authorization, key_required), expected, "ApiAuth {choice}");
        // Without a usage plan that admits the key, no request gets through.
        for ty in [
            "AWS::ApiGateway::ApiKey",
            "AWS::ApiGateway::UsagePlan",
            "AWS::ApiGateway::UsagePlanKey",
        ] {
            let (_, made) = only_resource_of_type(&t, ty);
            let condition = str_at(made, "Condition");
            assert_eq!(
                condition_holds(&t, condition, &given),
                key_required == Some(true),
                "{ty} with ApiAuth {choice}"
            );
        }
        let deployment = ref_target(pick(&t, at(stage, "Properties.DeploymentId"), &given))
            .expect("DeploymentId: !Ref");
        let deployment = resource(&t, deployment);
        assert_eq!(str_at(deployment, "Type"), "AWS::ApiGateway::Deployment");
        assert!(condition_holds(&t, str_at(deployment, "Condition"), &given));
        assert_eq!(str_at(deployment, "DependsOn"), method_id(&t));
    }
    let (_, plan) = only_resource_of_type(&t, "AWS::ApiGateway::UsagePlan");
    let stages = at(plan, "Properties.ApiStages")
        .as_sequence()
        .expect("a list");
    assert_eq!(stages.len(), 1);
    assert_eq!(ref_target(at(&stages[0], "ApiId")), Some(api_id));
    assert_eq!(ref_target(at(&stages[0], "Stage")), Some(stage_id));

    let (_, permission) = only_resource_of_type(&t, "AWS::Lambda::Permission");
    let permission = at(permission, "Properties");
    assert_eq!(
        ref_target(at(permission, "FunctionName")),
        Some(function_id)
    );
    assert_eq!(str_at(permission, "Principal"), "apigateway.amazonaws.com");
    let source = sub_text(at(permission, "SourceArn"));
    assert!(
        source.ends_with(&format!(":${{{api_id}}}/${{ApiStageName}}/*/events")),
        "{source}"
    );
}

fn method_id(t: &Value) -> &str {
    only_resource_of_type(t, "AWS::ApiGateway::Method").0
}

/// Every request leaves one JSON line (no body, no key) in a log group with a retention; API Gateway's own
/// execution logs stay off, and the account's logging role, when the stack sets it, is kept and set first.
#[test]
fn api_stage_writes_json_access_logs_to_a_log_group_with_retention() {
    let t = template();
    let (_, stage) = only_resource_of_type(&t, "AWS::ApiGateway::Stage");
    let props = at(stage, "Properties");
    let (group, attribute) =
        getatt_target(at(props, "AccessLogSetting.DestinationArn")).expect("!GetAtt group.Arn");
    assert_eq!(attribute, "Arn");
    let group = resource(&t, &group);
    assert_eq!(str_at(group, "Type"), "AWS::Logs::LogGroup");
    assert!(minimum(&t, at(group, "Properties.RetentionInDays")) >= 1.0);
    let format: serde_json::Value =
        serde_json::from_str(str_at(props, "AccessLogSetting.Format")).expect("a JSON format");
    let fields = format.as_object().expect("a JSON object");
    assert_eq!(fields["requestId"], "$context.requestId");
    assert_eq!(fields["status"], "$context.status");
    assert!(
        fields
            .values()
            .all(|v| v.as_str().is_some_and(|v| v.starts_with("$context."))),
        "only $context variables: {fields:?}"
    );
    assert!(
        !fields
            .keys()
            .any(|k| k.contains("apiKey") && !k.ends_with("Id")),
        "the key's id, never the key"
    );
    let settings = at(props, "MethodSettings").as_sequence().expect("a list");
    assert_eq!(settings.len(), 1);
    assert_eq!(at(&settings[0], "DataTraceEnabled").as_bool(), Some(false));
    assert_eq!(str_at(&settings[0], "LoggingLevel"), "OFF");
    assert_eq!(
        ref_target(at(&settings[0], "ThrottlingRateLimit")),
        Some("ApiRateLimit")
    );
    assert_eq!(
        ref_target(at(&settings[0], "ThrottlingBurstLimit")),
        Some("ApiBurstLimit")
    );

    assert_eq!(
        allowed_values(&t, "ApiGatewayLogsRole"),
        ["Create", "Existing"]
    );
    let (account_id, account) = only_resource_of_type(&t, "AWS::ApiGateway::Account");
    let (role_id, _) = getatt_target(at(account, "Properties.CloudWatchRoleArn"))
        .expect("CloudWatchRoleArn: !GetAtt role.Arn");
    for id in [account_id, role_id.as_str()] {
        let r = resource(&t, id);
        assert_eq!(str_at(r, "DeletionPolicy"), "Retain", "{id}");
        assert_eq!(str_at(r, "UpdateReplacePolicy"), "Retain", "{id}");
        for (choice, created) in [("Create", true), ("Existing", false)] {
            let given = BTreeMap::from([("ApiGatewayLogsRole", choice)]);
            assert_eq!(condition_holds(&t, str_at(r, "Condition"), &given), created);
            // Naming the account setting orders the stage after it.
            let description = pick(&t, at(props, "Description"), &given);
            let names_account = intrinsic(description)
                .is_some_and(|_| sub_text(description).contains(&format!("${{{account_id}}}")));
            assert_eq!(names_account, created, "stage description with {choice}");
        }
    }
}

/// The statements of a role's inline policies, with the condition of each `!If [condition, statement,
/// !Ref AWS::NoValue]`.
fn role_statements(role: &Value) -> Vec<(Option<String>, &Value)> {
    let policies = at(role, "Properties.Policies")
        .as_sequence()
        .expect("Policies is a list");
    let mut statements = Vec::new();
    for policy in policies {
        let listed = at(policy, "PolicyDocument.Statement")
            .as_sequence()
            .expect("Statement is a list");
        for statement in listed {
            match intrinsic(statement) {
                Some((name, args)) if name == "If" => {
                    let args = args.as_sequence().expect("!If takes a list");
                    assert_eq!(args.len(), 3, "{args:?}");
                    assert_eq!(ref_target(&args[2]), Some("AWS::NoValue"), "{args:?}");
                    let condition = args[0].as_str().expect("a condition name").to_owned();
                    statements.push((Some(condition), &args[1]));
                }
                _ => statements.push((None, statement)),
            }
        }
    }
    statements
}

/// A statement's actions, as a sorted list.
fn actions(statement: &Value) -> Vec<String> {
    let mut actions = Vec::new();
    strings(at(statement, "Action"), &mut actions);
    actions.sort();
    actions
}

#[test]
fn function_role_grants_each_permission_on_its_one_resource() {
    let t = template();
    let (_, f) = function(&t);
    let props = at(f, "Properties");
    assert!(
        get(props, "Policies").is_none(),
        "no SAM policies: SAM would add AWS's managed policies (every queue, every log group)"
    );
    let (role_id, attribute) = getatt_target(at(props, "Role")).expect("Role: !GetAtt <role>.Arn");
    assert_eq!(attribute, "Arn");
    let role = resource(&t, &role_id);
    assert_eq!(str_at(role, "Type"), "AWS::IAM::Role");
    let role_props = at(role, "Properties");
    assert!(
        get(role_props, "ManagedPolicyArns").is_none(),
        "no managed policies"
    );
    let trust = at(role_props, "AssumeRolePolicyDocument.Statement")
        .as_sequence()
        .expect("Statement is a list");
    assert_eq!(trust.len(), 1);
    assert_eq!(
        str_at(&trust[0], "Principal.Service"),
        "lambda.amazonaws.com"
    );
    assert_eq!(str_at(&trust[0], "Action"), "sts:AssumeRole");

    // What the SQS event source consumes, and what the function reads its token from.
    let (queue_id, _) = getatt_target(at(function_events(&t)[0].1, "Properties.Queue"))
        .expect("the SQS event's queue is a !GetAtt");
    let env = at(props, "Environment.Variables");
    let secret_ref =
        ref_target(at(env, "PINTEREST_TOKEN_SECRET_ID")).expect("the secret is a !Ref");
    let log_group =
        ref_target(at(props, "LoggingConfig.LogGroup")).expect("the log group is a !Ref");
    let rejected_queue = ref_target(at(env, "PINTEREST_REJECTED_QUEUE_URL"))
        .expect("the rejected-events queue is a !Ref");

    let statements = role_statements(role);
    let mut granted = Vec::new();
    for (condition, statement) in &statements {
        assert_eq!(str_at(statement, "Effect"), "Allow");
        let actions = actions(statement);
        assert!(
            actions.iter().all(|a| !a.contains('*')),
            "no wildcard action: {actions:?}"
        );
        let resource_value = at(statement, "Resource");
        let mut literal = Vec::new();
        strings(resource_value, &mut literal);
        assert!(
            literal.iter().all(|s| !s.contains('*')),
            "no wildcard resource: {literal:?}"
        );
        let target = ref_target(resource_value)
            .map(str::to_owned)
            .or_else(|| {
                getatt_target(resource_value).map(|(id, attribute)| format!("{id}.{attribute}"))
            })
            .unwrap_or_else(|| panic!("each resource is one !Ref or !GetAtt: {resource_value:?}"));
        granted.push((condition.clone(), actions, target));
    }
    let expected = vec![
        (
            None,
            vec![
                "logs:CreateLogStream".to_owned(),
                "logs:PutLogEvents".to_owned(),
            ],
            format!("{log_group}.Arn"),
        ),
        (
            None,
            vec![
                "sqs:DeleteMessage".to_owned(),
                "sqs:GetQueueAttributes".to_owned(),
                "sqs:ReceiveMessage".to_owned(),
            ],
            format!("{queue_id}.Arn"),
        ),
        // SendMessageBatch is authorised by sqs:SendMessage.
        (
            None,
            vec!["sqs:SendMessage".to_owned()],
            format!("{rejected_queue}.Arn"),
        ),
        (
            None,
            vec!["secretsmanager:GetSecretValue".to_owned()],
            secret_ref.to_owned(),
        ),
        (
            Some("HasTokenKmsKey".to_owned()),
            vec!["kms:Decrypt".to_owned()],
            "TokenKmsKeyArn".to_owned(),
        ),
    ];
    assert_eq!(granted, expected);
    // The key decrypts only for Secrets Manager, and only this secret (Secrets Manager's encryption context).
    let kms = statements
        .iter()
        .find(|(condition, _)| condition.is_some())
        .map(|(_, statement)| *statement)
        .expect("the KMS statement");
    let via = at(kms, "Condition.StringEquals");
    let (name, service) = intrinsic(at(via, "kms:ViaService")).expect("!Sub of the service");
    assert_eq!(name, "Sub");
    assert_eq!(
        service.as_str(),
        Some("secretsmanager.${AWS::Region}.amazonaws.com")
    );
    assert_eq!(
        ref_target(at(via, "kms:EncryptionContext:SecretARN")),
        Some(secret_ref)
    );
    assert_eq!(via.as_mapping().map(Mapping::len), Some(2));

    // An existing secret passed in: its full ARN, never a pattern.
    let pattern = str_at(
        parameter(&t, secret_ref).expect("the secret is a parameter"),
        "AllowedPattern",
    );
    assert!(
        pattern.starts_with("^arn:aws") && pattern.contains(":secretsmanager:"),
        "{pattern}"
    );
    // The secret-name part admits no `*` and no `.` wildcard, and requires the 6-character suffix of a full
    // secret ARN (IAM needs the exact ARN).
    let name_part = pattern.split(":secret:").nth(1).unwrap_or_default();
    assert!(
        !name_part.is_empty()
            && !name_part.contains('*')
            && !name_part.contains(".+")
            && name_part.ends_with("-[A-Za-z0-9]{6}$"),
        "the secret ARN pattern must name one full ARN, no wildcard: {pattern}"
    );
    let key_pattern = str_at(
        parameter(&t, "TokenKmsKeyArn").expect("TokenKmsKeyArn"),
        "AllowedPattern",
    );
    assert!(
        key_pattern.starts_with("^$|^arn:aws") && key_pattern.contains(":key/"),
        "{key_pattern}"
    );

    // No other IAM document in the stack reaches the function or grants secrets.
    for ty in [
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::Role",
    ] {
        for (id, r) in resources_of_type(&t, ty) {
            if id == role_id {
                continue;
            }
            let rp = at(r, "Properties");
            for attach in ["Roles", "Users", "Groups"] {
                assert!(
                    get(rp, attach).is_none(),
                    "{id} must not be attached ({attach})"
                );
            }
            let mut all = Vec::new();
            strings(rp, &mut all);
            assert!(
                all.iter()
                    .all(|s| !s.starts_with("secretsmanager:") && !s.starts_with("kms:")),
                "{id} must not grant Secrets Manager or KMS access"
            );
        }
    }
}

#[test]
fn sqs_event_reports_batch_item_failures_with_bounded_concurrency() {
    let t = template();
    let sqs = events_of_type(&t, "SQS");
    assert_eq!(sqs.len(), 1, "one SQS event source");
    let (_, e) = sqs[0];
    let types = at(e, "Properties.FunctionResponseTypes")
        .as_sequence()
        .expect("list");
    assert!(types.contains(&Value::from("ReportBatchItemFailures")));
    assert!(minimum(&t, at(e, "Properties.ScalingConfig.MaximumConcurrency")) >= 2.0);
    assert!(minimum(&t, at(e, "Properties.BatchSize")) >= 1.0);
    let batch = eval(&t, at(e, "Properties.BatchSize"), &BTreeMap::new());
    let window = eval(
        &t,
        at(e, "Properties.MaximumBatchingWindowInSeconds"),
        &BTreeMap::new(),
    );
    assert!(
        batch <= 10.0 || window >= 1.0,
        "Lambda needs a batching window of at least 1 s for batches above 10"
    );
    let (queue, attr) = getatt_target(at(e, "Properties.Queue")).expect("Queue: !GetAtt X.Arn");
    assert_eq!(attr, "Arn");
    assert_eq!(str_at(resource(&t, &queue), "Type"), "AWS::SQS::Queue");
}

#[test]
fn queue_has_a_14_day_dead_letter_queue_and_five_or_more_receives() {
    let t = template();
    let (_, e) = events_of_type(&t, "SQS")[0];
    let (queue_id, _) = getatt_target(at(e, "Properties.Queue")).expect("!GetAtt");
    let queue = resource(&t, &queue_id);
    assert_eq!(
        at(queue, "Properties.SqsManagedSseEnabled").as_bool(),
        Some(true)
    );
    let redrive = at(queue, "Properties.RedrivePolicy");
    assert!(minimum(&t, at(redrive, "maxReceiveCount")) >= 5.0);
    let (dlq_id, attr) = getatt_target(at(redrive, "deadLetterTargetArn")).expect("!GetAtt");
    assert_eq!(attr, "Arn");
    assert_ne!(dlq_id, queue_id);
    let dlq = resource(&t, &dlq_id);
    assert_eq!(str_at(dlq, "Type"), "AWS::SQS::Queue");
    assert_eq!(
        eval(
            &t,
            at(dlq, "Properties.MessageRetentionPeriod"),
            &BTreeMap::new()
        ),
        1_209_600.0,
        "DLQ keeps messages 14 days"
    );
    assert_eq!(
        at(dlq, "Properties.SqsManagedSseEnabled").as_bool(),
        Some(true)
    );
}

#[test]
fn visibility_timeout_is_at_least_six_function_timeouts() {
    let t = template();
    let (_, f) = function(&t);
    let (_, e) = events_of_type(&t, "SQS")[0];
    let (queue_id, _) = getatt_target(at(e, "Properties.Queue")).expect("!GetAtt");
    let visibility = at(resource(&t, &queue_id), "Properties.VisibilityTimeout");
    let timeout = at(f, "Properties.Timeout");
    // Check every timeout the deployer may choose, not only the default.
    let choices: Vec<(Option<String>, f64)> = match ref_target(timeout) {
        Some(p) => parameter_values(&t, p)
            .into_iter()
            .map(|v| (Some(p.to_string()), v))
            .collect(),
        None => vec![(None, as_f64(timeout).expect("numeric Timeout"))],
    };
    assert!(!choices.is_empty());
    for (param, secs) in choices {
        let given: BTreeMap<String, f64> = param.into_iter().map(|p| (p, secs)).collect();
        let vis = eval(&t, visibility, &given);
        assert!(
            vis >= 6.0 * secs,
            "timeout {secs} s: visibility {vis} s < 6 x timeout"
        );
        assert!(vis <= 43_200.0, "SQS visibility timeout is at most 12 h");
    }
}

#[test]
fn environment_holds_only_documented_settings() {
    let t = template();
    let (_, f) = function(&t);
    let vars = at(f, "Properties.Environment.Variables")
        .as_mapping()
        .expect("Variables is a mapping");
    let names: BTreeSet<&str> = vars.keys().filter_map(Value::as_str).collect();
    assert_eq!(names.len(), vars.len(), "variable names are strings");
    let documented: BTreeSet<&str> = DOCUMENTED_SETTINGS.iter().copied().collect();
    let unknown: Vec<_> = names.difference(&documented).collect();
    assert!(unknown.is_empty(), "undocumented variables: {unknown:?}");
    for required in ["PINTEREST_AD_ACCOUNT_ID", "PINTEREST_TOKEN_SECRET_ID"] {
        assert!(names.contains(required), "{required} is set");
    }
    let account = vars
        .get("PINTEREST_AD_ACCOUNT_ID")
        .and_then(ref_target)
        .expect("the advertiser id is a parameter");
    let account = parameter(&t, account).expect("declared");
    assert_eq!(str_at(account, "AllowedPattern"), "^[0-9]{1,18}$");
}

#[test]
fn outputs_cover_queue_api_and_function() {
    let t = template();
    let outputs = at(&t, "Outputs");
    for key in [
        "QueueUrl",
        "QueueArn",
        "DeadLetterQueueUrl",
        "RejectedQueueUrl",
        "ApiUrl",
        "ApiInvokeArn",
        "ApiKeyId",
        "ApiAccessLogGroupName",
        "FunctionName",
    ] {
        assert!(get(outputs, key).is_some(), "output {key} is missing");
    }
    // The key exists only with ApiAuth ApiKey.
    assert_eq!(str_at(outputs, "ApiKeyId.Condition"), "UseApiKeyAuth");
}

/// The template accepts no metrics namespace the function would refuse at start-up (CloudFormation patterns are
/// ECMAScript regular expressions, as JSON Schema's `pattern`), and every ordinary one.
#[test]
fn metrics_namespace_pattern_accepts_only_what_the_function_accepts() {
    let t = template();
    let pattern = str_at(
        parameter(&t, "MetricsNamespace").expect("MetricsNamespace"),
        "AllowedPattern",
    );
    let schema = serde_json::json!({"type": "string", "pattern": pattern});
    let validator = jsonschema::validator_for(&schema).expect("the pattern compiles");
    let template_accepts = |namespace: &str| validator.is_valid(&serde_json::json!(namespace));
    let function_accepts = |namespace: &str| {
        pinterest_destination::config::Settings::from_env(|name| match name {
            "PINTEREST_AD_ACCOUNT_ID" => Some("549755885175".to_owned()),
            "PINTEREST_ACCESS_TOKEN" => Some("pina_x".to_owned()),
            "PINTEREST_METRICS_NAMESPACE" => Some(namespace.to_owned()),
            _ => None,
        })
        .is_ok()
    };
    let longest = "n".repeat(255);
    for namespace in [
        "PinterestDestination",
        "Ads/Pinterest",
        "a",
        "Ads Pinterest",
        "a:b",
        "#x_y-z.1",
        &longest,
    ] {
        assert!(template_accepts(namespace), "{namespace:?}");
        assert!(function_accepts(namespace), "{namespace:?}");
    }
    let too_long = "n".repeat(256);
    // Blank is "not set" for the function (the default namespace), and it trims: the template asks for a value
    // without spaces at its ends, so that what it passes is what the function checks.
    for namespace in [
        ":x",
        "AWS/Lambda",
        " AWS/x",
        "é",
        "a,b",
        &too_long,
        "",
        " ",
        "x ",
        " x",
    ] {
        assert!(!template_accepts(namespace), "{namespace:?}");
    }
}

/// Lambda refuses an SQS event source with more than 10 messages per batch and no batching window: the
/// template's rule refuses those parameters before anything is created.
#[test]
fn a_rule_refuses_large_batches_without_a_batching_window() {
    let t = template();
    let rules = at(&t, "Rules").as_mapping().expect("Rules is a mapping");
    let rule = rules
        .values()
        .find(|rule| {
            let mut named = Vec::new();
            strings(at(rule, "RuleCondition"), &mut named);
            named.contains(&"BatchingWindowSeconds".to_owned())
        })
        .expect("a rule on BatchingWindowSeconds");
    let (name, args) = intrinsic(at(rule, "RuleCondition")).expect("an intrinsic condition");
    assert_eq!(name, "Equals");
    let args = args.as_sequence().expect("!Equals takes a list");
    assert_eq!(ref_target(&args[0]), Some("BatchingWindowSeconds"));
    assert_eq!(args[1].as_str(), Some("0"));
    let assertions = at(rule, "Assertions").as_sequence().expect("a list");
    assert_eq!(assertions.len(), 1);
    let (name, args) = intrinsic(at(&assertions[0], "Assert")).expect("an intrinsic assertion");
    assert_eq!(name, "Contains");
    let args = args.as_sequence().expect("!Contains takes a list");
    let allowed: Vec<String> = args[0]
        .as_sequence()
        .expect("the allowed sizes")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let one_to_ten: Vec<String> = (1..=10).map(|n| n.to_string()).collect();
    assert_eq!(allowed, one_to_ten);
    assert_eq!(ref_target(&args[1]), Some("BatchSize"));
}

/// The API alarm watches metrics the function really emits: the same names, the namespace parameter the
/// function's setting gets, and a `Trigger` value the function uses for API Gateway REST events.
#[test]
fn api_alarm_watches_the_functions_own_metrics() {
    let t = template();
    let alarm = at(resource(&t, "ApiEventsNotDeliveredAlarm"), "Properties");
    let (_, f) = function(&t);
    let namespace_parameter = ref_target(at(
        f,
        "Properties.Environment.Variables.PINTEREST_METRICS_NAMESPACE",
    ))
    .expect("the namespace is a !Ref");
    let emitted = pinterest_destination::summary::Counters::default().emf(
        "Ns",
        "rest_api",
        1_700_000_000_000,
        1,
        "INFO",
    );
    let queries = at(alarm, "Metrics")
        .as_sequence()
        .expect("Metrics is a list");
    let mut watched = Vec::new();
    for query in queries {
        let Some(stat) = get(query, "MetricStat") else {
            continue;
        };
        let metric = at(stat, "Metric");
        assert_eq!(
            ref_target(at(metric, "Namespace")),
            Some(namespace_parameter)
        );
        let name = str_at(metric, "MetricName");
        assert!(
            emitted[name].is_u64(),
            "{name} is not a metric the function emits"
        );
        let dimensions = at(metric, "Dimensions").as_sequence().expect("a list");
        assert_eq!(dimensions.len(), 1);
        assert_eq!(str_at(&dimensions[0], "Name"), "Trigger");
        assert_eq!(str_at(&dimensions[0], "Value"), emitted["Trigger"]);
        watched.push(name.to_owned());
    }
    watched.sort();
    assert_eq!(watched, ["EventsFailed", "EventsRejected"]);
}

/// The rejected-events queue: encrypted, 14 days, a reader's 5 minutes per message, kept when the stack goes,
/// never a dead-letter queue; the function finds it in PINTEREST_REJECTED_QUEUE_URL. The dead-letter queue
/// is kept too, and only the events queue may redrive to it (named by the same expression as the queue).
#[test]
fn rejected_and_dead_letter_queues_are_kept_and_closed_to_other_queues() {
    let t = template();
    let (_, f) = function(&t);
    let rejected_id = ref_target(at(
        f,
        "Properties.Environment.Variables.PINTEREST_REJECTED_QUEUE_URL",
    ))
    .expect("PINTEREST_REJECTED_QUEUE_URL: !Ref queue");
    let rejected = resource(&t, rejected_id);
    assert_eq!(str_at(rejected, "Type"), "AWS::SQS::Queue");
    let props = at(rejected, "Properties");
    assert_eq!(at(props, "SqsManagedSseEnabled").as_bool(), Some(true));
    assert_eq!(
        as_f64(at(props, "MessageRetentionPeriod")),
        Some(1_209_600.0)
    );
    let visibility = as_f64(at(props, "VisibilityTimeout")).expect("a number");
    assert!((60.0..=900.0).contains(&visibility), "{visibility}");
    assert!(
        get(props, "RedrivePolicy").is_none(),
        "nothing leaves it by itself"
    );
    assert_eq!(
        str_at(props, "RedriveAllowPolicy.redrivePermission"),
        "denyAll"
    );

    let (_, e) = events_of_type(&t, "SQS")[0];
    let (queue_id, _) = getatt_target(at(e, "Properties.Queue")).expect("!GetAtt");
    let queue = resource(&t, &queue_id);
    let (dlq_id, _) =
        getatt_target(at(queue, "Properties.RedrivePolicy.deadLetterTargetArn")).expect("!GetAtt");
    for id in [queue_id.as_str(), dlq_id.as_str(), rejected_id] {
        let r = resource(&t, id);
        assert_eq!(str_at(r, "DeletionPolicy"), "Retain", "{id}");
        assert_eq!(str_at(r, "UpdateReplacePolicy"), "Retain", "{id}");
    }
    let allow = at(resource(&t, &dlq_id), "Properties.RedriveAllowPolicy");
    assert_eq!(str_at(allow, "redrivePermission"), "byQueue");
    let sources = at(allow, "sourceQueueArns").as_sequence().expect("a list");
    assert_eq!(sources.len(), 1);
    let (name, source) = intrinsic(&sources[0]).expect("!Sub [arn, names]");
    assert_eq!(name, "Sub");
    let source = source.as_sequence().expect("!Sub [arn, names]");
    let (name, queue_name) = intrinsic(at(queue, "Properties.QueueName")).expect("!Sub");
    assert_eq!(name, "Sub");
    let queue_name = queue_name.as_sequence().expect("!Sub [name, names]");
    let queue_name_text = queue_name[0].as_str().expect("text");
    assert_eq!(
        source[0].as_str(),
        Some(
            format!(
                "arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{queue_name_text}"
            )
            .as_str()
        )
    );
    assert_eq!(source[1], queue_name[1], "the same names in both");
    // The stack's id makes the name unique and known before the queue exists.
    let mut named = Vec::new();
    strings(&queue_name[1], &mut named);
    assert!(named.contains(&"AWS::StackId".to_owned()), "{named:?}");
}

/// Each SQS-driven instance may send the account's limit divided by the event source's maximum concurrency
/// (rounded down), so that all of them together stay under it; the table covers exactly the allowed values.
#[test]
fn calls_per_minute_split_the_account_limit_between_instances() {
    let t = template();
    let (_, f) = function(&t);
    let budget = at(
        f,
        "Properties.Environment.Variables.PINTEREST_CALLS_PER_MINUTE",
    );
    let (name, args) = intrinsic(budget).expect("!FindInMap");
    assert_eq!(name, "FindInMap");
    let args = args.as_sequence().expect("a list");
    let map = args[0].as_str().expect("a mapping name");
    let (_, e) = events_of_type(&t, "SQS")[0];
    let concurrency = ref_target(at(e, "Properties.ScalingConfig.MaximumConcurrency"))
        .expect("MaximumConcurrency: !Ref");
    assert_eq!(ref_target(&args[1]), Some(concurrency));
    let field = args[2].as_str().expect("a field name");
    let table = get(at(&t, "Mappings"), map)
        .and_then(Value::as_mapping)
        .expect("the mapping");
    let keys: Vec<&str> = table.keys().filter_map(Value::as_str).collect();
    assert_eq!(keys, allowed_values(&t, concurrency));
    assert!(keys.contains(&"20"), "today's default");
    for (key, row) in table {
        let instances: u64 = key
            .as_str()
            .and_then(|k| k.parse().ok())
            .expect("numeric key");
        assert!(
            (2..=1000).contains(&instances),
            "Lambda's MaximumConcurrency range"
        );
        let calls = get(row, field).and_then(Value::as_u64).expect("a number");
        assert_eq!(
            calls,
            ACCOUNT_CALLS_PER_MINUTE / instances,
            "{instances} instances"
        );
        assert!(calls >= 1);
    }
}

/// Every whole-number parameter is a String whose pattern takes exactly the integers of its range, written
/// without sign, decimals, exponent, spaces or a leading zero (a Number parameter would take 12.5 or 010).
#[test]
fn numeric_parameters_take_only_whole_numbers_in_range() {
    let t = template();
    let parameters = at(&t, "Parameters").as_mapping().expect("a mapping");
    for (name, p) in parameters {
        let name = name.as_str().expect("names are strings");
        assert_ne!(
            str_at(p, "Type"),
            "Number",
            "{name}: a Number takes 12.5 and 010"
        );
        let numeric_default = get(p, "Default")
            .and_then(Value::as_str)
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
        if !numeric_default {
            continue;
        }
        if let Some(Value::Sequence(allowed)) = get(p, "AllowedValues") {
            for v in allowed {
                let v = v
                    .as_str()
                    .unwrap_or_else(|| panic!("{name}: AllowedValues are strings"));
                assert!(
                    v.bytes().all(|b| b.is_ascii_digit()) && (v == "0" || !v.starts_with('0')),
                    "{name}: {v}"
                );
            }
            continue;
        }
        assert!(
            NUMERIC_RANGES.iter().any(|(n, _, _)| *n == name),
            "{name} takes numbers: add its range to NUMERIC_RANGES"
        );
    }
    for &(name, min, max) in NUMERIC_RANGES {
        let p = parameter(&t, name).unwrap_or_else(|| panic!("{name} is not declared"));
        assert_eq!(str_at(p, "Type"), "String", "{name}");
        let schema = serde_json::json!({"type": "string", "pattern": str_at(p, "AllowedPattern")});
        let validator = jsonschema::validator_for(&schema).expect("the pattern compiles");
        let takes = |v: &str| validator.is_valid(&serde_json::json!(v));
        let default: u64 = str_at(p, "Default").parse().expect("a numeric default");
        assert!((min..=max).contains(&default), "{name} default {default}");
        // Every number up to 100 000 of the range and around its ends, then a stride through the rest.
        let stride = ((max - min) / 20_000).max(1);
        let candidates = (min.saturating_sub(1000)..=(min + 100_000).min(max + 1000))
            .chain(max.saturating_sub(1000)..=max + 1000)
            .chain((min..=max).step_by(stride as usize))
            .chain((1..=7).map(|digits| 10u64.pow(digits)));
        for n in candidates {
            assert_eq!(
                takes(&n.to_string()),
                (min..=max).contains(&n),
                "{name} and {n}"
            );
        }
        for refused in [
            "12.5".to_owned(),
            "010".to_owned(),
            format!("0{min}"),
            format!("{min}.0"),
            format!("-{min}"),
            format!("+{min}"),
            format!(" {min}"),
            format!("{min} "),
            "1e3".to_owned(),
            "0x10".to_owned(),
            String::new(),
        ] {
            assert!(!takes(&refused), "{name} must refuse {refused:?}");
        }
    }
}

/// The event-name table and the consent gate reach the function as its settings, with values it accepts.
#[test]
fn event_table_and_consent_categories_are_settings() {
    let t = template();
    let (_, f) = function(&t);
    let vars = at(f, "Properties.Environment.Variables");
    assert_eq!(
        ref_target(at(vars, "PINTEREST_EVENT_TABLE")),
        Some("EventTable")
    );
    assert_eq!(allowed_values(&t, "EventTable"), ["classic", "current"]);
    assert_eq!(
        str_at(parameter(&t, "EventTable").expect("EventTable"), "Default"),
        "classic"
    );
    // Empty: no gate, and no variable.
    let consent = at(vars, "PINTEREST_CONSENT_CATEGORIES");
    for (value, set) in [("", false), ("3,5", true)] {
        let given = BTreeMap::from([("ConsentCategories", value)]);
        let chosen = pick(&t, consent, &given);
        match set {
            true => assert_eq!(ref_target(chosen), Some("ConsentCategories")),
            false => assert_eq!(ref_target(chosen), Some("AWS::NoValue")),
        }
    }
    let p = parameter(&t, "ConsentCategories").expect("ConsentCategories");
    assert_eq!(str_at(p, "Default"), "");
    let schema = serde_json::json!({"type": "string", "pattern": str_at(p, "AllowedPattern")});
    let validator = jsonschema::validator_for(&schema).expect("the pattern compiles");
    for ok in ["", "3", "3,5", "1,2,10,42"] {
        assert!(validator.is_valid(&serde_json::json!(ok)), "{ok:?}");
    }
    for bad in ["3,", ",3", "3,,5", " 3", "3, 5", "a", "3;5", "-1", "3.5"] {
        assert!(!validator.is_valid(&serde_json::json!(bad)), "{bad:?}");
    }
}

/// A value as text: `!Ref X`, `!GetAtt X.Attr`, `!Sub text`, or the literal.
fn describe(v: &Value) -> String {
    if let Some(target) = ref_target(v) {
        return format!("!Ref {target}");
    }
    if let Some((id, attribute)) = getatt_target(v) {
        return format!("!GetAtt {id}.{attribute}");
    }
    if intrinsic(v).is_some() {
        return format!("!Sub {}", sub_text(v));
    }
    v.as_str().expect("a string").to_owned()
}

/// A metric an alarm watches: namespace, metric name, and the (name, value) of each dimension.
type Watched = (String, String, Vec<(String, String)>);

/// The metrics an alarm watches: (namespace, metric name, dimensions) of each MetricStat, or of the alarm itself.
fn watched_metrics(alarm: &Value) -> Vec<Watched> {
    let dims = |metric: &Value| -> Vec<(String, String)> {
        at(metric, "Dimensions")
            .as_sequence()
            .expect("Dimensions is a list")
            .iter()
            .map(|d| (str_at(d, "Name").to_owned(), describe(at(d, "Value"))))
            .collect()
    };
    let namespace = |metric: &Value| describe(at(metric, "Namespace"));
    let props = at(alarm, "Properties");
    match get(props, "Metrics") {
        None => vec![(
            namespace(props),
            str_at(props, "MetricName").to_owned(),
            dims(props),
        )],
        Some(queries) => queries
            .as_sequence()
            .expect("Metrics is a list")
            .iter()
            .filter_map(|q| get(q, "MetricStat"))
            .map(|stat| {
                let metric = at(stat, "Metric");
                (
                    namespace(metric),
                    str_at(metric, "MetricName").to_owned(),
                    dims(metric),
                )
            })
            .collect(),
    }
}

/// The alarms watch what matters, notify AlarmEmail's topic and AlarmTopicArn (whichever are set) when they
/// fire and when they clear, and the function's own metrics have the names, namespace and `Trigger` values
/// the function uses.
#[test]
fn alarms_watch_what_matters_and_notify_whichever_target_is_set() {
    let t = template();
    let (function_id, _) = function(&t);
    let (_, e) = events_of_type(&t, "SQS")[0];
    let (queue_id, _) = getatt_target(at(e, "Properties.Queue")).expect("!GetAtt");
    let queue = resource(&t, &queue_id);
    let (dlq_id, _) =
        getatt_target(at(queue, "Properties.RedrivePolicy.deadLetterTargetArn")).expect("!GetAtt");
    let (_, f) = function(&t);
    let rejected_id = ref_target(at(
        f,
        "Properties.Environment.Variables.PINTEREST_REJECTED_QUEUE_URL",
    ))
    .expect("!Ref");
    let (stage_id, _) = only_resource_of_type(&t, "AWS::ApiGateway::Stage");
    let (_, api) = only_resource_of_type(&t, "AWS::ApiGateway::RestApi");
    let api_name = format!("!Sub {}", sub_text(at(api, "Properties.Name")));
    let ns = "!Ref MetricsNamespace".to_owned();
    let one = |name: &str, value: String| vec![(name.to_owned(), value)];
    let trigger = |value: &str| one("Trigger", value.to_owned());
    let expected: BTreeMap<&str, Vec<Watched>> = BTreeMap::from([
        (
            "FunctionErrorsAlarm",
            vec![(
                "AWS/Lambda".into(),
                "Errors".into(),
                one("FunctionName", format!("!Ref {function_id}")),
            )],
        ),
        (
            "FunctionThrottlesAlarm",
            vec![(
                "AWS/Lambda".into(),
                "Throttles".into(),
                one("FunctionName", format!("!Ref {function_id}")),
            )],
        ),
        (
            "QueueBacklogAlarm",
            vec![(
                "AWS/SQS".into(),
                "ApproximateAgeOfOldestMessage".into(),
                one("QueueName", format!("!GetAtt {queue_id}.QueueName")),
            )],
        ),
        (
            "DeadLetterQueueAlarm",
            vec![(
                "AWS/SQS".into(),
                "ApproximateNumberOfMessagesVisible".into(),
                one("QueueName", format!("!GetAtt {dlq_id}.QueueName")),
            )],
        ),
        (
            "RejectedQueueAlarm",
            vec![(
                "AWS/SQS".into(),
                "ApproximateNumberOfMessagesVisible".into(),
                one("QueueName", format!("!GetAtt {rejected_id}.QueueName")),
            )],
        ),
        (
            "ApiServerErrorsAlarm",
            vec![(
                "AWS/ApiGateway".into(),
                "5XXError".into(),
                vec![
                    ("ApiName".into(), api_name),
                    ("Stage".into(), format!("!Ref {stage_id}")),
                ],
            )],
        ),
        (
            "AuthFailuresAlarm",
            vec![
                (ns.clone(), AUTH_FAILURES_METRIC.into(), trigger("sqs")),
                (ns.clone(), AUTH_FAILURES_METRIC.into(), trigger("rest_api")),
            ],
        ),
        (
            "ApiEventsNotDeliveredAlarm",
            vec![
                (ns.clone(), "EventsRejected".into(), trigger("rest_api")),
                (ns.clone(), "EventsFailed".into(), trigger("rest_api")),
            ],
        ),
    ]);
    let alarms = resources_of_type(&t, "AWS::CloudWatch::Alarm");
    let names: Vec<&str> = alarms.iter().map(|(id, _)| *id).collect();
    let wanted: Vec<&str> = expected.keys().copied().collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, wanted);

    // The function's own metrics: names it emits, values of `Trigger` it uses.
    let emitted = pinterest_destination::summary::Counters::default().emf(
        "Ns",
        "sqs",
        1_700_000_000_000,
        1,
        "INFO",
    );
    for (id, alarm) in &alarms {
        let watched = watched_metrics(alarm);
        assert_eq!(watched, expected[id], "{id}");
        for (namespace, metric, dimensions) in &watched {
            if namespace == &ns {
                assert!(
                    emitted[metric.as_str()].is_u64(),
                    "{metric} is not a metric the function emits"
                );
                assert_eq!(dimensions[0].0, "Trigger");
            }
        }
        let props = at(alarm, "Properties");
        assert_eq!(
            str_at(props, "ComparisonOperator"),
            "GreaterThanThreshold",
            "{id}"
        );
        assert_eq!(str_at(props, "TreatMissingData"), "notBreaching", "{id}");
        // Both targets, each when set, on alarm and on recovery.
        for key in ["AlarmActions", "OKActions"] {
            let targets = at(props, key)
                .as_sequence()
                .unwrap_or_else(|| panic!("{id}: {key} is a list"));
            for (email, topic) in [
                ("", ""),
                ("ops@example.com", ""),
                ("", "arn:aws:sns:us-east-1:123456789012:ops"),
                ("ops@example.com", "arn:aws:sns:us-east-1:123456789012:ops"),
            ] {
                let given = BTreeMap::from([("AlarmEmail", email), ("AlarmTopicArn", topic)]);
                let chosen: Vec<Option<&str>> = targets
                    .iter()
                    .map(|v| ref_target(pick(&t, v, &given)))
                    .filter(|r| *r != Some("AWS::NoValue"))
                    .collect();
                let mut want = Vec::new();
                if !email.is_empty() {
                    want.push(Some("AlarmEmailTopic"));
                }
                if !topic.is_empty() {
                    want.push(Some("AlarmTopicArn"));
                }
                assert_eq!(chosen, want, "{id} {key} with {given:?}");
            }
        }
    }
    for id in ["AlarmEmailTopic", "AlarmEmailSubscription"] {
        assert_eq!(str_at(resource(&t, id), "Condition"), "HasAlarmEmail");
    }
    let subscription = at(resource(&t, "AlarmEmailSubscription"), "Properties");
    assert_eq!(str_at(subscription, "Protocol"), "email");
    assert_eq!(
        ref_target(at(subscription, "TopicArn")),
        Some("AlarmEmailTopic")
    );
    assert_eq!(ref_target(at(subscription, "Endpoint")), Some("AlarmEmail"));

    // Persistent authentication failures: every one of three 5-minute periods, summed over both triggers
    // with gaps as zero.
    let auth = at(resource(&t, "AuthFailuresAlarm"), "Properties");
    assert_eq!(as_f64(at(auth, "EvaluationPeriods")), Some(3.0));
    assert_eq!(as_f64(at(auth, "DatapointsToAlarm")), Some(3.0));
    assert_eq!(as_f64(at(auth, "Threshold")), Some(0.0));
    let expression: Vec<&str> = at(auth, "Metrics")
        .as_sequence()
        .expect("a list")
        .iter()
        .filter_map(|q| get(q, "Expression")?.as_str())
        .collect();
    assert_eq!(expression, ["FILL(sqs, 0) + FILL(restApi, 0)"]);
    let backlog = at(resource(&t, "QueueBacklogAlarm"), "Properties");
    assert_eq!(
        ref_target(at(backlog, "Threshold")),
        Some("QueueAgeAlarmSeconds")
    );
}
