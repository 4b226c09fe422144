package leakcorpus

// Shapes returns the corpus: every shape is a line that carries secrets (as canaries)
// where the kubernetes-secrets preset must not let them through. They are added by leak
// kind, in a fixed order (a shape's number names its canaries).
func Shapes() []Shape {
	t := &table{}
	webhookPatchShapes(t)
	toolAnnotationShapes(t)
	secretFieldShapes(t)
	secretPatchShapes(t)
	otherSecretBodyShapes(t)
	tokenShapes(t)
	embeddedSecretShapes(t)
	outsideSchemaShapes(t)
	objectRefShapes(t)
	headerMemberShapes(t)
	eventListShapes(t)
	queryShapes(t)
	return t.s
}

// table collects the shapes: add an audit Event line, kar a kube-audit-rest one.
type table struct{ s []Shape }

func (t *table) add(kind int, name, keep string, build func(c *Canaries) any) {
	t.s = append(t.s, Shape{Name: name, Kind: kind, Build: build, Keep: keep})
}

func (t *table) kar(kind int, name, keep string, build func(c *Canaries) any) {
	t.s = append(t.s, Shape{Name: name, Kind: kind, Admission: true, Build: build, Keep: keep})
}

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"
