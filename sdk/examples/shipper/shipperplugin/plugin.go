// Package shipperplugin is the shipper example plugin: its inputs are shaped
// the way real plugins' often are, with a nested struct (the address), an
// array of structs (the items), an array of strings (the tags) and enums
// (the country and the speed), so that the debug panel and platforms have a
// plugin whose inputs schema uses "$ref", "definitions", "items" and "enum".
// Its behaviour, which the panel's browser test relies on:
//
//   - 1.0.0: ships items to an address; SUCCESS at once with the output
//     label "<speed> to <city>, <country>: <n> units" and units, the sum of
//     the items' quantities.
//   - an item whose sku is "broken" ends the invocation FAIL with
//     "cannot ship sku broken": inputs the schema accepts but the plugin
//     refuses, so that an invocation that ran and failed can be told from
//     inputs the shim refused.
package shipperplugin

import (
	"fmt"

	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
)

// Code is the plugin's code.
const Code = "shipper"

// BrokenSKU is the sku the plugin refuses to ship.
const BrokenSKU = "broken"

// Address is where the items go: a nested object in the inputs schema.
type Address struct {
	Street  string `json:"street,omitempty" jsonschema:"title=Street"`
	City    string `json:"city" jsonschema:"title=City,minLength=1"`
	Country string `json:"country" jsonschema:"title=Country,enum=CN,enum=DE,enum=US,default=CN"`
}

// Item is one line of the shipment: an array element that is an object.
type Item struct {
	SKU      string `json:"sku" jsonschema:"title=SKU,minLength=1"`
	Quantity int    `json:"quantity" jsonschema:"title=Quantity,minimum=1,default=1"`
}

// Inputs of shipper 1.0.0.
type Inputs struct {
	To    Address  `json:"to" jsonschema:"title=Ship to"`
	Items []Item   `json:"items" jsonschema:"title=Items,minItems=1"`
	Tags  []string `json:"tags,omitempty" jsonschema:"title=Tags,description=Free labels for the parcel"`
	Speed string   `json:"speed" jsonschema:"title=Speed,enum=standard,enum=express,default=standard"`
}

// Outputs of shipper 1.0.0.
type Outputs struct {
	Label string   `json:"label" jsonschema:"title=Label"`
	Units int      `json:"units" jsonschema:"title=Units"`
	Tags  []string `json:"tags" jsonschema:"title=Tags"`
}

// Plugin returns a new shipper plugin.
func Plugin() *plugin.Plugin {
	p := plugin.MustNew(plugin.Meta{Code: Code, Description: "Ships items to an address (nested, array and enum inputs)."})
	plugin.MustAddVersion(p, plugin.Version[Inputs, plugin.None, Outputs]{
		Version:     "1.0.0",
		Description: "Ships the items to the address at the chosen speed.",
		Execute:     execute,
	})
	return p
}

func execute(ctx *plugin.Context[Inputs, plugin.None, Outputs]) error {
	in := ctx.Inputs
	units := 0
	for _, it := range in.Items {
		if it.SKU == BrokenSKU {
			return fmt.Errorf("cannot ship sku %s", it.SKU)
		}
		units += it.Quantity
	}
	ctx.Outputs.Label = fmt.Sprintf("%s to %s, %s: %d units", in.Speed, in.To.City, in.To.Country, units)
	ctx.Outputs.Units = units
	ctx.Outputs.Tags = in.Tags
	if ctx.Outputs.Tags == nil {
		ctx.Outputs.Tags = []string{}
	}
	ctx.Log.Info("shipped", "units", units, "city", in.To.City)
	return nil
}
