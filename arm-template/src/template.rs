//! A template read into its declarations, each keeping its JSON (with positions) and its
//! JSON path in the request: parameters, user-defined types (`definitions`), user-defined
//! functions, variables, resources (languageVersion 1.0 arrays with nested child
//! `resources`, or 2.0 objects keyed by symbolic name) and outputs.

use crate::error::{ErrorKind, TemplateError, wrap};
use crate::eval::join_path;
use crate::expr::{self, StringValue};
use crate::functions::{self, Known};
use crate::json::{self, Node, NodeKind};

/// A template, read and checked for structure and expression syntax.
#[derive(Debug, Clone)]
pub struct Template {
    pub(crate) root: Node,
    /// JSON path of the template in its document (`properties.template` in a request).
    pub(crate) path: String,
    pub(crate) language_v2: bool,
    pub(crate) parameters: Vec<ParamDecl>,
    pub(crate) definitions: Vec<(String, Node)>,
    pub(crate) functions: Vec<UserFunction>,
    pub(crate) variables: Vec<VarDecl>,
    pub(crate) resources: Vec<ResourceDecl>,
    pub(crate) outputs: Vec<OutputDecl>,
}

/// A declared parameter.
#[derive(Debug, Clone)]
pub(crate) struct ParamDecl {
    pub name: String,
    pub decl: Node,
    pub path: String,
}

/// A declared variable; `copy` variables hold their loop.
#[derive(Debug, Clone)]
pub(crate) struct VarDecl {
    pub name: String,
    pub value: Node,
    pub path: String,
    pub copy: Option<CopyNodes>,
}

/// The `count` and `input` of a variable or output copy loop.
#[derive(Debug, Clone)]
pub(crate) struct CopyNodes {
    pub count: Node,
    pub input: Node,
    pub path: String,
}

/// A user-defined function.
#[derive(Debug, Clone)]
pub(crate) struct UserFunction {
    pub namespace: String,
    pub name: String,
    pub params: Vec<(String, String)>,
    pub output_type: String,
    pub output: Node,
    pub path: String,
}

/// A resource declaration (one per element of a `resources` array, nested children
/// included, or per symbolic name).
#[derive(Debug, Clone)]
pub(crate) struct ResourceDecl {
    /// The languageVersion 2.0 symbolic name.
    pub symbolic: Option<String>,
    pub node: Node,
    pub path: String,
    /// The declaration this one is nested in (its `resources` array).
    pub parent: Option<usize>,
}

/// An output.
#[derive(Debug, Clone)]
pub(crate) struct OutputDecl {
    pub name: String,
    pub node: Node,
    pub path: String,
}

impl Template {
    /// Reads a template file (a JSON document whose root is the template).
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let root = json::parse(text).map_err(|e| wrap::invalid_json(&e.message, e.pos))?;
        Template::from_node(root, "", None)
    }

    /// Reads a template that is the node `root`, found at `path` in its document. An
    /// outer-scope nested template sees its parent's user-defined functions (`inherited`).
    pub(crate) fn from_node(
        root: Node,
        path: &str,
        inherited: Option<&[UserFunction]>,
    ) -> Result<Template, TemplateError> {
        if root.members().is_none() {
            return Err(wrap::structure("The template must be a JSON object.", root.pos, path));
        }
        let language_v2 = match root.get("languageVersion").and_then(Node::as_str) {
            None => false,
            Some(v) => {
                let major = v.split('.').next().unwrap_or("1");
                major.parse::<u32>().unwrap_or(1) >= 2 || v.starts_with("2")
            }
        };
        let mut t = Template {
            root: root.clone(),
            path: path.to_string(),
            language_v2,
            parameters: Vec::new(),
            definitions: Vec::new(),
            functions: Vec::new(),
            variables: Vec::new(),
            resources: Vec::new(),
            outputs: Vec::new(),
        };
        t.read_parameters()?;
        t.read_definitions();
        t.read_functions()?;
        if let Some(parent) = inherited {
            t.functions.extend(parent.iter().cloned());
        }
        t.read_variables()?;
        t.read_resources()?;
        t.read_outputs()?;
        t.check_syntax()?;
        Ok(t)
    }

    fn sub(&self, key: &str) -> String {
        join_path(&self.path, key)
    }

    fn read_parameters(&mut self) -> Result<(), TemplateError> {
        let Some(params) = self.root.get("parameters") else { return Ok(()) };
        let path = self.sub("parameters");
        let Some(members) = params.members() else {
            return Err(wrap::structure("The 'parameters' section must be an object.", params.pos, &path));
        };
        for m in members {
            if m.value.members().is_none() {
                return Err(wrap::structure(
                    &format!("The parameter '{}' must be an object.", m.key),
                    m.value.pos,
                    &join_path(&path, &m.key),
                ));
            }
            self.parameters.push(ParamDecl {
                name: m.key.clone(),
                decl: m.value.clone(),
                path: join_path(&path, &m.key),
            });
        }
        Ok(())
    }

    fn read_definitions(&mut self) {
        if let Some(defs) = self.root.get("definitions").and_then(Node::members) {
            self.definitions = defs.iter().map(|m| (m.key.clone(), m.value.clone())).collect();
        }
    }

    fn read_functions(&mut self) -> Result<(), TemplateError> {
        let Some(fns) = self.root.get("functions") else { return Ok(()) };
        let path = self.sub("functions");
        for (i, ns) in fns.elements().unwrap_or_default().iter().enumerate() {
            let ns_path = format!("{path}[{i}]");
            let Some(namespace) = ns.get("namespace").and_then(Node::as_str) else {
                return Err(wrap::structure("Required property 'namespace' not found in JSON.", ns.pos, &ns_path));
            };
            let members_path = join_path(&ns_path, "members");
            for m in ns.get("members").and_then(Node::members).unwrap_or_default() {
                let fpath = join_path(&members_path, &m.key);
                let params = m
                    .value
                    .get("parameters")
                    .and_then(Node::elements)
                    .unwrap_or_default()
                    .iter()
                    .map(|p| {
                        (
                            p.get("name").and_then(Node::as_str).unwrap_or_default().to_string(),
                            p.get("type").and_then(Node::as_str).unwrap_or("any").to_string(),
                        )
                    })
                    .collect();
                let Some(output) = m.value.get("output") else {
                    return Err(wrap::structure("Required property 'output' not found in JSON.", m.value.pos, &fpath));
                };
                let Some(value) = output.get("value") else {
                    return Err(wrap::structure("Required property 'value' not found in JSON.", output.pos, &fpath));
                };
                self.functions.push(UserFunction {
                    namespace: namespace.to_string(),
                    name: m.key.clone(),
                    params,
                    output_type: output.get("type").and_then(Node::as_str).unwrap_or("any").to_string(),
                    output: value.clone(),
                    path: join_path(&join_path(&fpath, "output"), "value"),
                });
            }
        }
        Ok(())
    }

    fn read_variables(&mut self) -> Result<(), TemplateError> {
        let Some(vars) = self.root.get("variables") else { return Ok(()) };
        let path = self.sub("variables");
        for m in vars.members().unwrap_or_default() {
            let vpath = join_path(&path, &m.key);
            if m.key.eq_ignore_ascii_case("copy") && m.value.elements().is_some() {
                for (i, spec) in m.value.elements().unwrap_or_default().iter().enumerate() {
                    let spath = format!("{vpath}[{i}]");
                    let name = spec.get("name").and_then(Node::as_str);
                    let (Some(name), Some(count), Some(input)) = (name, spec.get("count"), spec.get("input")) else {
                        return Err(wrap::structure(
                            "A variable copy loop needs 'name', 'count' and 'input'.",
                            spec.pos,
                            &spath,
                        ));
                    };
                    self.variables.push(VarDecl {
                        name: name.to_string(),
                        value: input.clone(),
                        path: join_path(&spath, "input"),
                        copy: Some(CopyNodes { count: count.clone(), input: input.clone(), path: spath }),
                    });
                }
                continue;
            }
            self.variables.push(VarDecl { name: m.key.clone(), value: m.value.clone(), path: vpath, copy: None });
        }
        Ok(())
    }

    fn read_resources(&mut self) -> Result<(), TemplateError> {
        let path = self.sub("resources");
        match self.root.get("resources") {
            None => Ok(()),
            Some(Node { kind: NodeKind::Array(items), .. }) => {
                let items = items.clone();
                for (i, r) in items.iter().enumerate() {
                    self.read_resource(r, format!("{path}[{i}]"), None, None)?;
                }
                Ok(())
            }
            Some(n @ Node { kind: NodeKind::Object(members), .. }) if self.language_v2 || n.members().is_some() => {
                let members = members.clone();
                for m in &members {
                    self.read_resource(&m.value, join_path(&path, &m.key), None, Some(m.key.clone()))?;
                }
                Ok(())
            }
            Some(other) => {
                Err(wrap::structure("The 'resources' section must be an array or an object.", other.pos, &path))
            }
        }
    }

    fn read_resource(
        &mut self,
        r: &Node,
        path: String,
        parent: Option<usize>,
        symbolic: Option<String>,
    ) -> Result<(), TemplateError> {
        if r.members().is_none() {
            return Err(wrap::structure("A resource must be a JSON object.", r.pos, &path));
        }
        for required in ["type", "name"] {
            match r.get(required) {
                Some(n) if n.as_str().is_some() => {}
                Some(n) => {
                    return Err(wrap::structure(
                        &format!("The property '{required}' must be a string."),
                        n.pos,
                        &join_path(&path, required),
                    ));
                }
                None => {
                    return Err(wrap::structure(
                        &format!("Required property '{required}' not found in JSON."),
                        r.pos,
                        &path,
                    ));
                }
            }
        }
        let existing = r.get("existing").is_some_and(|e| matches!(e.kind, NodeKind::Bool(true)));
        if !existing && r.get("apiVersion").is_none() {
            return Err(wrap::structure("Required property 'apiVersion' not found in JSON.", r.pos, &path));
        }
        let index = self.resources.len();
        self.resources.push(ResourceDecl { symbolic, node: r.clone(), path: path.clone(), parent });
        if let Some(children) = r.get("resources").and_then(Node::elements) {
            for (i, c) in children.iter().enumerate() {
                self.read_resource(c, format!("{}[{i}]", join_path(&path, "resources")), Some(index), None)?;
            }
        }
        Ok(())
    }

    fn read_outputs(&mut self) -> Result<(), TemplateError> {
        let Some(outputs) = self.root.get("outputs") else { return Ok(()) };
        let path = self.sub("outputs");
        for m in outputs.members().unwrap_or_default() {
            self.outputs.push(OutputDecl {
                name: m.key.clone(),
                node: m.value.clone(),
                path: join_path(&path, &m.key),
            });
        }
        Ok(())
    }

    /// Parses every expression of the template (nested inline templates included: they are
    /// read when their deployment is) and checks every function name, as Azure does before
    /// evaluating anything.
    fn check_syntax(&self) -> Result<(), TemplateError> {
        for p in &self.parameters {
            if let Some(d) = p.decl.get("defaultValue") {
                check_node(d, &join_path(&p.path, "defaultValue"), self, &|inner, kind, n, path| {
                    wrap::resource(kind, &p.name, p.decl.pos, inner, n.pos, path)
                })?;
            }
        }
        for f in &self.functions {
            check_node(&f.output, &f.path, self, &|inner, kind, n, path| {
                wrap::function(kind, &format!("{}.{}", f.namespace, f.name), inner, n.pos, path)
            })?;
        }
        for v in &self.variables {
            let node = v.copy.as_ref().map_or(&v.value, |_| &v.value);
            check_node(node, &v.path, self, &|inner, kind, n, path| wrap::variable(kind, &v.name, inner, n.pos, path))?;
            if let Some(c) = &v.copy {
                check_node(&c.count, &join_path(&c.path, "count"), self, &|inner, kind, n, path| {
                    wrap::variable(kind, &v.name, inner, n.pos, path)
                })?;
            }
        }
        for r in &self.resources {
            let shown = r
                .symbolic
                .clone()
                .unwrap_or_else(|| r.node.get("name").and_then(Node::as_str).unwrap_or_default().to_string());
            check_resource_node(&r.node, &r.path, self, &|inner, kind, n, path| {
                wrap::resource(kind, &shown, r.node.pos, inner, n.pos, path)
            })?;
            // An inline nested template is checked now too, as Azure validates it with its
            // parent (an outer-scope one sees the parent's user-defined functions).
            if r.node.get("type").and_then(Node::as_str).is_some_and(is_deployment_type)
                && let Some(props) = r.node.get("properties")
                && let Some(nested) = props.get("template")
            {
                let inner = props
                    .get("expressionEvaluationOptions")
                    .and_then(|o| o.get("scope"))
                    .and_then(Node::as_str)
                    .is_some_and(|s| s.eq_ignore_ascii_case("inner"));
                let path = join_path(&join_path(&r.path, "properties"), "template");
                Template::from_node(nested.clone(), &path, if inner { None } else { Some(&self.functions) })?;
            }
        }
        for o in &self.outputs {
            check_node(&o.node, &o.path, self, &|inner, kind, n, path| {
                wrap::output(kind, &o.name, inner, n.pos, path)
            })?;
        }
        Ok(())
    }

    /// Whether a user-defined function is declared.
    pub(crate) fn user_function(&self, namespace: &str, name: &str) -> Option<&UserFunction> {
        self.functions.iter().find(|f| f.namespace.eq_ignore_ascii_case(namespace) && f.name.eq_ignore_ascii_case(name))
    }

    /// The `$schema`, `contentVersion`, `metadata` and `languageVersion` that `deployment()`
    /// shows of the template.
    pub(crate) fn header(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        for key in ["$schema", "contentVersion", "metadata", "languageVersion"] {
            if let Some(n) = self.root.get(key) {
                out.insert(key.to_string(), n.to_value());
            }
        }
        serde_json::Value::Object(out)
    }

    /// Whether the template uses languageVersion 2.0 (symbolic names).
    pub fn is_language_v2(&self) -> bool {
        self.language_v2
    }

    /// The template as plain JSON.
    pub fn to_value(&self) -> serde_json::Value {
        self.root.to_value()
    }
}

type Wrapper<'w> = dyn Fn(&str, ErrorKind, &Node, &str) -> TemplateError + 'w;

/// Checks a resource: everything but an inline nested template, which is checked as its
/// own template (its functions and parameters are its own).
fn check_resource_node(node: &Node, path: &str, t: &Template, wrap_err: &Wrapper<'_>) -> Result<(), TemplateError> {
    for m in node.members().unwrap_or_default() {
        let p = join_path(path, &m.key);
        if m.key.eq_ignore_ascii_case("resources") {
            continue;
        }
        if m.key.eq_ignore_ascii_case("properties")
            && node.get("type").and_then(Node::as_str).is_some_and(is_deployment_type)
        {
            for pm in m.value.members().unwrap_or_default() {
                if pm.key.eq_ignore_ascii_case("template") {
                    continue;
                }
                check_node(&pm.value, &join_path(&p, &pm.key), t, wrap_err)?;
            }
            continue;
        }
        check_node(&m.value, &p, t, wrap_err)?;
    }
    Ok(())
}

/// Whether a type is `Microsoft.Resources/deployments`.
pub(crate) fn is_deployment_type(ty: &str) -> bool {
    ty.eq_ignore_ascii_case("Microsoft.Resources/deployments")
}

fn check_node(node: &Node, path: &str, t: &Template, wrap_err: &Wrapper<'_>) -> Result<(), TemplateError> {
    match &node.kind {
        NodeKind::String(s) => {
            if let StringValue::Expression(text) = expr::classify(s) {
                let e = expr::parse(text).map_err(|m| wrap_err(&m, ErrorKind::ExpressionSyntax, node, path))?;
                let mut bad: Option<(ErrorKind, String)> = None;
                e.visit_calls(&mut |ns, name, _| {
                    if bad.is_some() {
                        return;
                    }
                    match ns {
                        Some(ns) if t.user_function(ns, name).is_none() => {
                            bad = Some((
                                ErrorKind::UnknownFunction,
                                crate::error::msg::user_function_not_found(ns, name),
                            ));
                        }
                        Some(_) => {}
                        None => match functions::is_known(name) {
                            Known::Yes => {}
                            Known::No => {
                                bad = Some((ErrorKind::UnknownFunction, crate::error::msg::function_not_valid(name)))
                            }
                            Known::Unsupported => {
                                bad = Some((
                                    ErrorKind::UnsupportedFunction,
                                    crate::error::msg::function_unsupported(name),
                                ))
                            }
                        },
                    }
                });
                if let Some((kind, m)) = bad {
                    return Err(wrap_err(&m, kind, node, path));
                }
            }
            Ok(())
        }
        NodeKind::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_node(item, &format!("{path}[{i}]"), t, wrap_err)?;
            }
            Ok(())
        }
        NodeKind::Object(members) => {
            for m in members {
                check_node(&m.value, &join_path(path, &m.key), t, wrap_err)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
