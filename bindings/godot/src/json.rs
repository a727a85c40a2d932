//! JSON payloads as Godot values (built directly, so no `JSON` class is needed).

use godot::prelude::*;
use serde_json::Value;

/// A JSON value as a Variant: objects become Dictionaries (keys in the payload's order),
/// arrays Arrays, integers `int`, other numbers `float`, `null` null.
pub(crate) fn to_variant(value: &Value) -> Variant {
    match value {
        Value::Null => Variant::nil(),
        Value::Bool(b) => b.to_variant(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.to_variant(),
            None => n.as_f64().unwrap_or(f64::NAN).to_variant(),
        },
        Value::String(s) => GString::from(s.as_str()).to_variant(),
        Value::Array(items) => to_array(items).to_variant(),
        Value::Object(map) => {
            let mut dict = VarDictionary::new();
            for (key, value) in map {
                dict.set(
                    &GString::from(key.as_str()).to_variant(),
                    &to_variant(value),
                );
            }
            dict.to_variant()
        }
    }
}

fn to_array(items: &[Value]) -> VarArray {
    let mut array = VarArray::new();
    for item in items {
        array.push(&to_variant(item));
    }
    array
}

/// A JSON object payload as a Dictionary (empty if the text is not an object, which the
/// dispatcher never produces).
pub(crate) fn dictionary(json: &str) -> VarDictionary {
    match serde_json::from_str::<Value>(json) {
        Ok(value @ Value::Object(_)) => to_variant(&value).to(),
        _ => VarDictionary::new(),
    }
}

/// A JSON array payload as an Array (empty if the text is not an array).
pub(crate) fn array(json: &str) -> VarArray {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Array(items)) => to_array(&items),
        _ => VarArray::new(),
    }
}
