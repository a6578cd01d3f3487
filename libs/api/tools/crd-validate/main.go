// Command crd-validate checks CustomResourceDefinition YAML files with the same validation code that
// kube-apiserver 1.35 runs when a CRD is created (k8s.io/apiextensions-apiserver v0.35): structural
// schema rules, defaults, list/map types and CEL rule compilation and cost.
//
// Usage: go run . <crd.yaml>...   (or `npx nx run api:validate-crds`)
package main

import (
	"context"
	"fmt"
	"os"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

func main() {
	scheme := runtime.NewScheme()
	_ = apiextensions.AddToScheme(scheme)
	_ = apiextv1.AddToScheme(scheme)
	failed := false
	for _, f := range os.Args[1:] {
		data, err := os.ReadFile(f)
		if err != nil {
			panic(err)
		}
		var v1crd apiextv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(data, &v1crd); err != nil {
			fmt.Println(f, "strict decode:", err)
			failed = true
			continue
		}
		apiextv1.SetObjectDefaults_CustomResourceDefinition(&v1crd)
		var crd apiextensions.CustomResourceDefinition
		if err := scheme.Convert(&v1crd, &crd, nil); err != nil {
			panic(err)
		}
		crd.Status.StoredVersions = []string{"v1alpha1"}
		errs := validation.ValidateCustomResourceDefinition(context.TODO(), &crd)
		if len(errs) > 0 {
			failed = true
			for _, e := range errs {
				fmt.Println(f, "INVALID:", e.Error())
			}
		} else {
			fmt.Println(f, "OK")
		}
	}
	if failed {
		os.Exit(1)
	}
}
